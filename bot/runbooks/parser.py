"""Markdown runbook → typed ``Runbook``, with ``file:line`` for every problem.

The front matter is YAML between ``---`` lines. Steps are fenced blocks whose info string
is ``action {json}`` (a YAML body: ``uses:`` and ``with:``) or ``shell {json}`` (fixed text
run by the ``command`` action). Other fences (``bash``, ``promql``...) are prose for
people. Parsing never runs anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.durations import Duration
from bot.matchers import Matcher, MatcherError, matcher_from_item, parse_matcher
from bot.runbooks.model import (
    DEPLOY_PRECEDED,
    SHELL_ACTION,
    SHELL_ARGV,
    Mode,
    ParamSpec,
    Policy,
    Problem,
    Runbook,
    Section,
    Step,
    StepCondition,
    StepKind,
    Verify,
)
from bot.yamlpos import LocatedYaml, YamlError, load_located

STEP_FENCES = ("action", "shell")
_MARKDOWN = MarkdownIt("commonmark")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(value: object) -> date | None:
    """A front-matter date. YAML reads an unquoted ``2026-09-14`` as a date and a quoted one
    as text; both are accepted. A time, a number or any other spelling is refused rather
    than read as pydantic would (a number as a Unix timestamp)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ValueError(f"write a date without a time, such as {value.date().isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date ({exc})") from None
    shown = repr(value) if isinstance(value, str | int | float) else f"a {type(value).__name__}"
    raise ValueError(f"{shown} is not a date; write it as YYYY-MM-DD, such as 2026-09-14")


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$")
    title: str = Field(min_length=1)
    owners: list[str] = Field(default_factory=list)
    match: dict[str, Any] | list[str]
    priority: int = 0
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    verify: Verify | None = None
    escalation: str | None = None
    approvers: list[str] = Field(default_factory=list)
    last_reviewed: date | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _params_are_mappings(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("last_reviewed", mode="before")
    @classmethod
    def _last_reviewed_is_a_date(cls, value: Any) -> date | None:
        return iso_date(value)


class _StepAttrs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: StepKind
    timeout: Duration | None = None
    safe: bool = False
    idempotent: bool = False
    read_only: bool = False
    retries: int = Field(default=0, ge=0, le=10)
    when: str | list[str] = Field(default_factory=list)
    rollback: str | None = None
    mode: Mode | None = None


class _ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    uses: str = Field(min_length=1)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


@dataclass
class ParseResult:
    """A runbook (``None`` when its front matter is unusable) and what is wrong with it."""

    file: str
    runbook: Runbook | None
    problems: list[Problem] = field(default_factory=list)
    hash: str = ""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_runbook(data: bytes, *, file: str) -> ParseResult:
    digest = content_hash(data)
    problems: list[Problem] = []

    def problem(line: int, message: str, rule: str) -> None:
        problems.append(Problem(file=file, line=line, message=message, rule=rule))

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem(1, f"not UTF-8 text: {exc.reason}", "encoding")
        return ParseResult(file, None, problems, digest)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problem(1, "a runbook starts with YAML front matter between '---' lines", "front-matter")
        return ParseResult(file, None, problems, digest)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        problem(1, "the front matter is not closed by a '---' line", "front-matter")
        return ParseResult(file, None, problems, digest)

    front = _front_matter("\n".join(lines[1:end]) + "\n", problem)
    body_offset = end + 1
    tokens = _MARKDOWN.parse("\n".join(lines[body_offset:]) + "\n")
    sections = _sections(tokens, lines, body_offset)
    steps = _steps(tokens, file, body_offset, problem)
    runbook = None
    if front is not None:
        fm, located = front
        matchers = _matchers(fm.match, located, problem)
        params = {
            name: spec.model_copy(update={"line": located.line_of(("params", name))})
            for name, spec in fm.params.items()
        }
        runbook = Runbook(
            id=fm.id,
            title=fm.title,
            owners=tuple(fm.owners),
            matchers=matchers,
            priority=fm.priority,
            params=params,
            policy=fm.policy,
            verify=fm.verify,
            escalation=fm.escalation,
            approvers=tuple(fm.approvers),
            last_reviewed=fm.last_reviewed,
            steps=tuple(steps),
            sections=tuple(sections),
            file=file,
            hash=digest,
            lines={".".join(str(p) for p in path): line for path, line in located.lines.items()}
            | {"": located.first_line},
        )
    return ParseResult(file, runbook, problems, digest)


def _front_matter(text: str, problem: Any) -> tuple[_FrontMatter, LocatedYaml] | None:
    try:
        located = load_located(text, line_offset=1)
    except YamlError as exc:
        hint = ""
        source = text.splitlines()
        near = source[exc.line - 2] if 0 <= exc.line - 2 < len(source) else ""
        if re.search(r"(:|-)\s+!", near) or "tag '!" in exc.message:
            hint = "; quote a value that starts with '!', e.g. env: '!=\"dev\"'"
        problem(exc.line, exc.message + hint, "yaml")
        return None
    if not isinstance(located.data, dict):
        problem(2, "the front matter must be a YAML mapping", "front-matter")
        return None
    try:
        return _FrontMatter.model_validate(located.data), located
    except ValidationError as exc:
        errors = exc.errors()
    for error in errors:
        loc = tuple(error["loc"])
        problem(located.line_of(loc), _message(error, loc), _rule(error, loc))
    # Drop the fields in error and try again, so that lint can still check the steps.
    bad = {error["loc"][0] for error in errors if error["loc"]}
    try:
        salvaged = {k: v for k, v in located.data.items() if k not in bad}
        return _FrontMatter.model_validate(salvaged), located
    except ValidationError:
        return None


def _rule(error: Any, loc: tuple[Hashable, ...]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown-field"
    if loc and loc[0] == "params" and "type or a pattern" in str(error["msg"]):
        return "param-type"
    return "invalid-field"


def _message(error: Any, loc: tuple[Hashable, ...]) -> str:
    where = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        parent = ".".join(str(p) for p in loc[:-1])
        return f"unknown field {loc[-1]!r}" + (f" in {parent}" if parent else "")
    if error["type"] == "missing":
        return f"missing required field {where!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _matchers(
    spec: dict[str, Any] | list[str], located: LocatedYaml, problem: Any
) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    items: Sequence[tuple[Hashable, Any]] = (
        list(spec.items()) if isinstance(spec, dict) else list(enumerate(spec))
    )
    if not items:
        problem(located.line_of(("match",)), "match needs at least one matcher", "matcher")
    for key, value in items:
        try:
            if isinstance(spec, dict):
                found.append(matcher_from_item(str(key), value))
            else:
                found.append(parse_matcher(str(value)))
        except MatcherError as exc:
            problem(located.line_of(("match", key)), f"bad matcher: {exc}", "matcher")
    return tuple(found)


def _sections(tokens: list[Token], lines: list[str], offset: int) -> list[Section]:
    heads = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open" and t.map is not None]
    sections = []
    for n, (i, token) in enumerate(heads):
        assert token.map is not None
        start = token.map[1]
        stop = heads[n + 1][1].map[0] if n + 1 < len(heads) else len(lines) - offset  # type: ignore[index]
        text = "\n".join(lines[offset + start : offset + stop]).strip()
        sections.append(
            Section(
                title=tokens[i + 1].content.strip(),
                level=int(token.tag[1:]),
                line=offset + token.map[0] + 1,
                text=text,
            )
        )
    return sections


def _steps(tokens: list[Token], file: str, offset: int, problem: Any) -> list[Step]:
    steps: list[Step] = []
    section: str | None = None
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            section = tokens[i + 1].content.strip()
            continue
        if token.type != "fence" or token.map is None:
            continue
        word, _, attrs_text = token.info.strip().partition(" ")
        if word not in STEP_FENCES:
            continue
        line = offset + token.map[0] + 1
        step = _step(
            fence=word,  # type: ignore[arg-type]
            attrs_text=attrs_text.strip(),
            content=token.content,
            line=line,
            description=_description_above(tokens, i),
            section=section,
            file=file,
            problem=problem,
        )
        if step is not None:
            steps.append(step)
    return steps


def _description_above(tokens: list[Token], index: int) -> str:
    if index >= 2 and tokens[index - 1].type == "paragraph_close":
        return tokens[index - 2].content.strip()
    return ""


def _step(
    *,
    fence: Literal["action", "shell"],
    attrs_text: str,
    content: str,
    line: int,
    description: str,
    section: str | None,
    file: str,
    problem: Any,
) -> Step | None:
    if not attrs_text:
        problem(
            line,
            f'a {fence} step needs a JSON attribute object: {fence} {{"id": ...}}',
            "step-attrs",
        )
        return None
    try:
        raw = json.loads(attrs_text)
    except json.JSONDecodeError as exc:
        problem(line, f"step attributes are not a JSON object: {exc.msg}", "step-attrs")
        return None
    if not isinstance(raw, dict):
        problem(line, "step attributes must be a JSON object", "step-attrs")
        return None
    try:
        attrs = _StepAttrs.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = _message(error, loc).replace("field", "step attribute", 1)
            problem(line, message, _rule(error, loc))
        return None
    conditions = _conditions(attrs.when, line, problem)
    body_line = line + 1
    if fence == "shell":
        uses, args, arg_lines = SHELL_ACTION, {"argv": [*SHELL_ARGV, content]}, {"argv": body_line}
        shell: str | None = content
    else:
        parsed = _action_body(content, line, problem)
        if parsed is None:
            return None
        body, located = parsed
        uses, args, shell = body.uses, body.with_, None
        arg_lines = {str(key): located.line_of(("with", key)) for key in args}
    return Step(
        id=attrs.id,
        kind=attrs.kind,
        uses=uses,
        args=args,
        shell=shell,
        description=description,
        section=section,
        timeout=attrs.timeout,
        safe=attrs.safe,
        idempotent=attrs.idempotent,
        read_only=attrs.read_only,
        retries=attrs.retries,
        when=tuple(conditions),
        rollback=attrs.rollback,
        mode=attrs.mode,
        file=file,
        line=line,
        body=content,
        body_line=body_line,
        arg_lines=arg_lines,
    )


def _conditions(when: str | list[str], line: int, problem: Any) -> list[StepCondition]:
    """``when``: each ``STEP_ID.succeeded|failed|skipped`` or ``deploy.preceded``."""
    conditions = []
    for text in [when] if isinstance(when, str) else when:
        step_id, dot, outcome = text.rpartition(".")
        if text == DEPLOY_PRECEDED:
            conditions.append(StepCondition(step=step_id, outcome="preceded"))
            continue
        if not dot or outcome not in ("succeeded", "failed", "skipped") or not step_id:
            problem(
                line,
                f"when {text!r}: write it as STEP_ID.succeeded|failed|skipped or {DEPLOY_PRECEDED}",
                "step-ref",
            )
            continue
        conditions.append(StepCondition(step=step_id, outcome=outcome))
    return conditions


def _action_body(content: str, line: int, problem: Any) -> tuple[_ActionBody, LocatedYaml] | None:
    try:
        located = load_located(content, line_offset=line)
    except YamlError as exc:
        problem(exc.line, exc.message, "yaml")
        return None
    if not isinstance(located.data, dict):
        problem(
            line + 1,
            "an action step's body is a YAML mapping with 'uses:' and 'with:'",
            "step-body",
        )
        return None
    try:
        return _ActionBody.model_validate(located.data), located
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problem(located.line_of(loc), _message(error, loc), _rule(error, loc))
        return None
