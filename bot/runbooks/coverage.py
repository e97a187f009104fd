"""Runbook coverage of Prometheus alert rules: which alerts would page with no runbook.

A rule file states the ``alert`` name and static ``labels``; the rest of an alert's labels
come from the series at firing time. Each runbook is judged against each rule with what
is known statically: ``alertname``, the rule's static labels, and labels pinned by
equality selectors in its expression (``up{job="demo"}``). A matcher on a label that is
not known makes the match conditional rather than impossible. Rule files may be plain
Prometheus rule files or ``PrometheusRule`` resources (``spec.groups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.matchers import Matcher
from bot.runbooks.model import Problem, Runbook
from bot.runbooks.selection import NAMING_ANNOTATIONS, RunbookIndex
from bot.yamlpos import YamlError, load_located

_SELECTOR = re.compile(r"\{([^{}]*)\}")
_EQUALITY = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class AlertRule:
    file: str
    line: int
    group: str
    alert: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def known_labels(self) -> dict[str, str]:
        """Labels whose value is fixed before the alert fires."""
        known: dict[str, str] = {}
        for selector in _SELECTOR.findall(self.expr):
            for name, value in _EQUALITY.findall(selector):
                if not re.search(rf"{name}\s*!?=~", selector):
                    known.setdefault(name, value)
        for name, value in self.labels.items():
            if "{{" not in value:
                known[name] = value
            else:
                known.pop(name, None)
        known["alertname"] = self.alert
        return known


def read_rules(paths: Iterable[Path]) -> tuple[list[AlertRule], list[Problem]]:
    rules: list[AlertRule] = []
    problems: list[Problem] = []
    for path in paths:
        name = str(path)
        try:
            located = load_located(path.read_text(encoding="utf-8"))
        except OSError as exc:
            problems.append(Problem(name, 1, f"cannot read: {exc.strerror}", "io"))
            continue
        except YamlError as exc:
            problems.append(Problem(name, exc.line, exc.message, "yaml"))
            continue
        data: Any = located.data or {}
        prefix: tuple[str, ...] = ()
        if isinstance(data, dict) and isinstance(data.get("spec"), dict):
            data, prefix = data["spec"], ("spec",)
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            problems.append(Problem(name, 1, "not a rule file: no 'groups' list", "rules"))
            continue
        for g, group in enumerate(groups):
            entries = group.get("rules") if isinstance(group, dict) else None
            for r, rule in enumerate(entries if isinstance(entries, list) else []):
                if not isinstance(rule, dict) or "alert" not in rule:
                    continue
                rules.append(
                    AlertRule(
                        file=name,
                        line=located.line_of((*prefix, "groups", g, "rules", r)),
                        group=str(group.get("name", "")),
                        alert=str(rule["alert"]),
                        expr=str(rule.get("expr", "")),
                        labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                        annotations={
                            str(k): str(v) for k, v in (rule.get("annotations") or {}).items()
                        },
                    )
                )
    return rules, problems


class Fit(StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


def _matches_anything(matcher: Matcher) -> bool:
    return matcher.matches({matcher.name: ""}) and matcher.matches({matcher.name: "x"})


def fit(runbook: Runbook, known: Mapping[str, str]) -> tuple[Fit, tuple[str, ...]]:
    """Whether the runbook matches the rule's alerts, and the labels it depends on."""
    depends: list[str] = []
    for matcher in runbook.matchers:
        if matcher.name in known:
            if not matcher.matches(known):
                return Fit.NO, ()
        elif not _matches_anything(matcher):
            depends.append(str(matcher))
    return (Fit.MAYBE, tuple(depends)) if depends else (Fit.YES, ())


@dataclass(frozen=True)
class RuleCoverage:
    rule: AlertRule
    status: str  # covered | annotation | conditional | tie | uncovered
    runbooks: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.rule.file,
            "line": self.rule.line,
            "group": self.rule.group,
            "alert": self.rule.alert,
            "status": self.status,
            "runbooks": list(self.runbooks),
            "depends_on": list(self.depends_on),
        }


@dataclass
class CoverageReport:
    rules: list[RuleCoverage] = field(default_factory=list)
    unused: list[Runbook] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def with_status(self, *statuses: str) -> list[RuleCoverage]:
        return [r for r in self.rules if r.status in statuses]

    @property
    def percent(self) -> float:
        if not self.rules:
            return 100.0
        return 100.0 * len(self.with_status("covered", "annotation")) / len(self.rules)


def coverage(index: RunbookIndex, rules: Sequence[AlertRule]) -> CoverageReport:
    report = CoverageReport()
    used: set[str] = set()
    for rule in rules:
        named = None
        for key in NAMING_ANNOTATIONS:
            value = rule.annotations.get(key, "")
            if value and "{{" not in value:
                named = named or index.named(value)
        if named is not None:
            used.add(named.id)
            report.rules.append(RuleCoverage(rule, "annotation", (named.id,)))
            continue
        known = rule.known_labels()
        sure: list[Runbook] = []
        maybe: list[tuple[Runbook, tuple[str, ...]]] = []
        for runbook in index.runbooks:
            verdict, depends = fit(runbook, known)
            if verdict is Fit.YES:
                sure.append(runbook)
            elif verdict is Fit.MAYBE:
                maybe.append((runbook, depends))
        used.update(r.id for r in sure)
        used.update(r.id for r, _ in maybe)
        if sure:
            top = max(r.priority for r in sure)
            best = tuple(sorted(r.id for r in sure if r.priority == top))
            report.rules.append(RuleCoverage(rule, "tie" if len(best) > 1 else "covered", best))
        elif maybe:
            ids = tuple(r.id for r, _ in maybe)
            depends = tuple(sorted({d for _, ds in maybe for d in ds}))
            report.rules.append(RuleCoverage(rule, "conditional", ids, depends))
        else:
            report.rules.append(RuleCoverage(rule, "uncovered"))
    report.unused = sorted((r for r in index.runbooks if r.id not in used), key=lambda r: r.id)
    return report
