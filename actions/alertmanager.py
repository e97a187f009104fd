"""``alertmanager.silence`` and ``alertmanager.expire_silence`` through Alertmanager's API v2."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, field_validator

from actions.base import Action, ActionArgs, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.durations import Duration

_OPERATOR = re.compile(r'(=~|!~|!=|=)"(.*)"', re.DOTALL)
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SILENCE_ID = re.compile(r"[0-9a-fA-F-]{1,64}")


def silence_matchers(matchers: dict[str, str]) -> list[dict[str, Any]]:
    """Alertmanager's matcher objects; a value may be written ``=~"a|b"`` or ``!="x"``."""
    out = []
    for name, raw in matchers.items():
        found = _OPERATOR.fullmatch(raw)
        op, value = (found.group(1), found.group(2)) if found else ("=", raw)
        out.append(
            {"name": name, "value": value, "isRegex": "~" in op, "isEqual": not op.startswith("!")}
        )
    return out


class SilenceArgs(ActionArgs):
    matchers: dict[str, str] = Field(min_length=1)
    duration: Duration = timedelta(hours=1)
    comment: str = Field(default="Silenced by Fireline", max_length=1000)

    @field_validator("matchers")
    @classmethod
    def _names_are_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _LABEL.fullmatch(name):
                raise ValueError(f"{name!r} is not a label name")
            if len(text) > 1024:
                raise ValueError(f"the value for {name} is longer than 1024 characters")
        return value

    @field_validator("duration")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=7):
            raise ValueError("a silence lasts between 1m and 7d")
        return value


class ExpireArgs(ActionArgs):
    silence_id: str

    @field_validator("silence_id")
    @classmethod
    def _an_id(cls, value: str) -> str:
        if not _SILENCE_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not an Alertmanager silence id")
        return value


def _base(context: ActionContext) -> str:
    if not context.endpoints.alertmanager_url:
        raise ActionRefused("no Alertmanager address: set FIRELINE_ALERTMANAGER_URL")
    return context.endpoints.alertmanager_url.rstrip("/")


class Silence(Action):
    name = "alertmanager.silence"
    mutating = True
    default_timeout = 20.0
    Args = SilenceArgs
    description = "Create a silence for the given matchers."

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, SilenceArgs)
        now = datetime.now(UTC)
        body = {
            "matchers": silence_matchers(args.matchers),
            "startsAt": now.isoformat(),
            "endsAt": (now + args.duration).isoformat(),
            "createdBy": "fireline",
            "comment": f"{args.comment} (incident {context.incident_id})",
        }
        try:
            response = await context.http.post(
                _base(context) + "/api/v2/silences", json=body, timeout=context.timeout
            )
        except httpx.HTTPError as exc:
            return ActionResult(ok=False, summary=f"Alertmanager did not answer: {exc!r}")
        if response.status_code != 200:
            return ActionResult(
                ok=False,
                summary=f"Alertmanager refused the silence ({response.status_code})",
                output=response.text[:2000],
            )
        silence_id = response.json().get("silenceID", "")
        return ActionResult(
            ok=True,
            summary=f"silence {silence_id} until {body['endsAt']}",
            data={"silence_id": silence_id},
        )


class ExpireSilence(Action):
    name = "alertmanager.expire_silence"
    mutating = True
    default_timeout = 20.0
    Args = ExpireArgs
    description = "Expire a silence by its id."

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, ExpireArgs)
        try:
            response = await context.http.delete(
                f"{_base(context)}/api/v2/silence/{args.silence_id}", timeout=context.timeout
            )
        except httpx.HTTPError as exc:
            return ActionResult(ok=False, summary=f"Alertmanager did not answer: {exc!r}")
        ok = response.status_code == 200
        return ActionResult(
            ok=ok,
            summary=f"silence {args.silence_id} "
            + ("expired" if ok else f"not expired ({response.status_code})"),
            output="" if ok else response.text[:2000],
        )
