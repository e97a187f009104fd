"""Alertmanager label matchers: ``=``, ``!=``, ``=~``, ``!~``, regexes fully anchored.

The semantics follow Alertmanager's: a label that is absent has the value ``""``, so
``team=""`` matches alerts without a ``team`` label and ``team=~".*"`` matches every alert.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


class MatcherError(ValueError):
    """A matcher that cannot be parsed or whose regex does not compile."""


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: MatchOp | str, value: str) -> Matcher:
        if not _LABEL_NAME.fullmatch(name):
            raise MatcherError(f"{name!r} is not a valid label name")
        op = MatchOp(op)
        regex = None
        if op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                regex = re.compile(f"^(?:{value})$")
            except re.error as exc:
                raise MatcherError(f"{name}{op}{value!r}: invalid regex: {exc}") from exc
        return cls(name=name, op=op, value=value, _regex=regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return actual == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.match(actual) is not None
        return found if self.op is MatchOp.REGEX else not found

    def value_test(self) -> Callable[[str], bool]:
        """This matcher as a test of one label value (absent is ``""``), with as few
        calls as Python allows: runbook selection runs it for every candidate of every
        alert."""
        if self.op is MatchOp.EQUAL:
            return self.value.__eq__
        if self.op is MatchOp.NOT_EQUAL:
            return self.value.__ne__
        assert self._regex is not None
        match = self._regex.match
        if self.op is MatchOp.REGEX:
            return lambda value: match(value) is not None
        return lambda value: match(value) is None

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        body = raw[1:-1]
        return body.replace('\\"', '"').replace("\\\\", "\\") if raw[0] == '"' else body
    return raw


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher written the Alertmanager way: ``severity=~"critical|page"``."""
    found = _MATCHER.fullmatch(text)
    if not found:
        raise MatcherError(f'{text!r} is not a matcher; write it as name="value" (or !=, =~, !~)')
    name, op, raw = found.groups()
    return Matcher.create(name, op, _unquote(raw))


def matcher_from_item(name: str, spec: object) -> Matcher:
    """One ``name: spec`` entry of a mapping of matchers.

    ``spec`` is a plain value for equality (``alertname: KubePodCrashLooping``) or starts
    with an operator (``namespace: =~"checkout(-canary)?"``, ``env: '!="dev"'``).
    """
    if isinstance(spec, bool) or spec is None:
        raise MatcherError(f"{name}: a matcher value must be text")
    text = str(spec)
    for op in (MatchOp.REGEX, MatchOp.NOT_REGEX, MatchOp.NOT_EQUAL, MatchOp.EQUAL):
        if text.startswith(op.value):
            return Matcher.create(name, op, _unquote(text[len(op.value) :].strip()))
    return Matcher.create(name, MatchOp.EQUAL, text)


def matchers_from_mapping(spec: Mapping[str, object]) -> tuple[Matcher, ...]:
    return tuple(matcher_from_item(str(name), value) for name, value in spec.items())


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
