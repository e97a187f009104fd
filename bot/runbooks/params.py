"""Typed runbook parameters: values taken from an alert, validated before any step sees them.

Alert data is never code: every value is checked by its type (``k8s_name``, ``hostname``,
``int``, ``duration``, ``enum``, or a fully anchored ``pattern``), and a value starting
with ``-`` is always refused so that it can never become a command-line option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.durations import format_duration, parse_duration
from bot.runbooks.model import ParamSpec, ParamType

_K8S_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_K8S_NAME = re.compile(rf"{_K8S_LABEL}(?:\.{_K8S_LABEL})*")
_HOST_LABEL = r"[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")
_INT = re.compile(r"[0-9]{1,12}")

ParamValue = str | int | timedelta


class ParamError(ValueError):
    """A value that its parameter's type refuses."""


def _shown(text: str) -> str:
    """A value as it appears in an error: quoted, and cut short when long."""
    if len(text) <= 80:
        return repr(text)
    return f"{text[:60]!r}... ({len(text)} characters)"


def validate_value(spec: ParamSpec, raw: object) -> ParamValue:
    """Check ``raw`` against the parameter's type and return the typed value."""
    text = str(raw)
    if len(text) > 4096:
        raise ParamError(f"{_shown(text)} is longer than 4096 characters")
    if text.startswith("-"):
        raise ParamError(f"{_shown(text)} starts with '-', which is never accepted")
    if any(ch in text for ch in "\n\r\t\x00"):
        raise ParamError("control characters are never accepted")
    kind = spec.kind
    if kind is ParamType.K8S_NAME:
        if len(text) > 253 or not _K8S_NAME.fullmatch(text):
            raise ParamError(
                f"{_shown(text)} is not a Kubernetes name (RFC 1123, at most 253 chars)"
            )
        return text
    if kind is ParamType.HOSTNAME:
        if len(text) > 253 or not _HOSTNAME.fullmatch(text):
            raise ParamError(f"{_shown(text)} is not a hostname")
        return text
    if kind is ParamType.INT:
        if not _INT.fullmatch(text):
            raise ParamError(f"{_shown(text)} is not a whole number")
        return int(text)
    if kind is ParamType.DURATION:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ParamError(str(exc)) from exc
    if kind is ParamType.ENUM:
        if text not in spec.values:
            raise ParamError(f"{_shown(text)} is not one of {', '.join(spec.values)}")
        return text
    assert spec.pattern is not None
    if re.fullmatch(spec.pattern, text) is None:
        raise ParamError(f"{_shown(text)} does not match the pattern {spec.pattern!r}")
    return text


def as_json(value: ParamValue) -> str | int:
    return format_duration(value) if isinstance(value, timedelta) else value


@dataclass(frozen=True)
class ParamResolution:
    values: dict[str, ParamValue] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {name: as_json(value) for name, value in self.values.items()}


def resolve_params(
    specs: Mapping[str, ParamSpec],
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    deploy: Mapping[str, str] | None = None,
) -> ParamResolution:
    """Take every parameter from the alert (or from the deploy that preceded it) and
    validate it; collect every failure. A deploy's fields are checked like alert text."""
    values: dict[str, ParamValue] = {}
    errors: dict[str, str] = {}
    sources = {"labels": labels, "annotations": annotations, "deploy": deploy or {}}
    for name, spec in specs.items():
        scope, key = spec.where
        raw: object | None = sources[scope].get(key) or None
        if raw is None:
            if spec.default is None:
                errors[name] = (
                    f"{spec.source}: no deploy of this service preceded the alert"
                    if scope == "deploy"
                    else f"{spec.source} is missing from the alert"
                )
                continue
            raw = spec.default
        try:
            values[name] = validate_value(spec, raw)
        except ParamError as exc:
            errors[name] = f"{spec.source}: {exc}"
    return ParamResolution(values=values, errors=errors)
