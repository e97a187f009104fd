"""``http.request``: one HTTP call to a service's own endpoint (a heal hook, a flag API)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ConfigDict, Field, field_validator

from actions.base import Action, ActionArgs, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.masking import cap_output
from actions.netguard import check_url

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class HttpArgs(ActionArgs):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    method: str = "GET"
    url: str = Field(max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    json_: Any | None = Field(default=None, alias="json")
    expect_status: list[int] = Field(default_factory=lambda: [200])
    timeout: float | None = Field(default=None, gt=0, le=600)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value.upper() not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)}")
        return value.upper()

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if any(ch in name + text for ch in "\r\n\x00"):
                raise ValueError(f"header {name!r} contains a control character")
        return value


class HttpRequest(Action):
    name = "http.request"
    mutating = True  # unless GET or HEAD: see ``is_mutating``
    default_timeout = 30.0
    Args = HttpArgs
    description = "Call an HTTP endpoint; refuses metadata and unlisted private addresses."

    @staticmethod
    def is_mutating(args: dict[str, Any]) -> bool:
        return str(args.get("method", "GET")).upper() not in ("GET", "HEAD")

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, HttpArgs)
        await check_url(args.url, context.endpoints.http_allow)
        content = None
        headers = dict(args.headers)
        if args.json_ is not None:
            content = json.dumps(args.json_).encode()
            headers.setdefault("Content-Type", "application/json")
        elif args.body is not None:
            content = args.body.encode()
        try:
            response = await context.http.request(
                args.method,
                args.url,
                headers=headers,
                content=content,
                timeout=args.timeout or context.timeout,
                follow_redirects=False,
            )
        except httpx.InvalidURL as exc:
            raise ActionRefused(f"invalid URL: {exc}") from exc
        except httpx.HTTPError as exc:
            return ActionResult(ok=False, summary=f"{args.method} {args.url} failed: {exc!r}")
        ok = response.status_code in args.expect_status
        expected = ", ".join(str(s) for s in args.expect_status)
        summary = f"{args.method} {args.url} answered {response.status_code}"
        if not ok:
            summary += f", expected {expected}"
        return ActionResult(
            ok=ok,
            summary=summary,
            output=cap_output(response.content, context.max_output_bytes),
            data={"status": response.status_code},
        )
