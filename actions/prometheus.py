"""``prometheus.query``: a PromQL instant query with a condition, for diagnosis and
verification. A query that errors is never read as "condition holds"."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from pydantic import Field, field_validator

from actions.base import Action, ActionArgs, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.masking import cap_output

_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_COMPARE = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*")


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float

    def __str__(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{{{inner}}} {self.value:g}"


def check_condition(condition: str | None, samples: Sequence[Sample]) -> tuple[bool, str]:
    """Whether ``samples`` satisfy ``condition`` (None: the query answered), and why."""
    if condition is None:
        return True, f"{len(samples)} series"
    text = condition.strip()
    if text == "nonempty":
        return bool(samples), f"{len(samples)} series, expected at least one"
    if text == "empty":
        return not samples, f"{len(samples)} series, expected none"
    found = _COMPARE.fullmatch(text)
    if found is None:
        raise ValueError(f"condition {condition!r} is not empty, nonempty or 'OP NUMBER'")
    compare, bound = _OPS[found.group(1)], float(found.group(2))
    if not samples:
        return False, f"no series to compare {text}"
    failing = [s for s in samples if math.isnan(s.value) or not compare(s.value, bound)]
    if failing:
        return False, f"{len(failing)} of {len(samples)} series fail {text}: {failing[0]}"
    return True, f"all {len(samples)} series satisfy {text}"


class QueryArgs(ActionArgs):
    query: str = Field(min_length=1, max_length=8192)
    condition: str | None = None
    prometheus_url: str | None = None

    @field_validator("condition")
    @classmethod
    def _condition_parses(cls, value: str | None) -> str | None:
        check_condition(value, [])
        return value


def parse_result(body: Any) -> list[Sample]:
    """Samples of an instant query answer (vector or scalar)."""
    data: dict[str, Any] = body.get("data") or {}
    kind = data.get("resultType")
    result: Any = data.get("result") or []
    if kind == "vector":
        return [Sample(dict(item["metric"]), float(item["value"][1])) for item in result]
    if kind == "scalar":
        return [Sample({}, float(result[1]))]
    raise ValueError(f"unexpected result type {kind!r}")


class PrometheusQuery(Action):
    name = "prometheus.query"
    mutating = False
    default_timeout = 20.0
    Args = QueryArgs
    description = "Run a PromQL instant query; ok when its condition holds."
    limit_samples: ClassVar[int] = 50

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, QueryArgs)
        base = args.prometheus_url or context.endpoints.prometheus_url
        if not base:
            raise ActionRefused("no Prometheus address: set FIRELINE_PROMETHEUS_URL")
        try:
            response = await context.http.get(
                base.rstrip("/") + "/api/v1/query",
                params={"query": args.query},
                timeout=context.timeout,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return ActionResult(
                ok=False,
                summary=f"Prometheus did not answer: {exc!r}",
                data={"inconclusive": True},
            )
        if response.status_code != 200 or body.get("status") != "success":
            error = body.get("error") or response.reason_phrase
            return ActionResult(
                ok=False,
                summary=f"Prometheus refused the query ({response.status_code}): {error}",
                data={"inconclusive": True},
            )
        samples = parse_result(body)
        ok, why = check_condition(args.condition, samples)
        shown = "\n".join(str(s) for s in samples[: self.limit_samples])
        if len(samples) > self.limit_samples:
            shown += f"\n... and {len(samples) - self.limit_samples} more"
        return ActionResult(
            ok=ok,
            summary=f"{args.query}: {why}",
            output=cap_output(shown, context.max_output_bytes),
            data={"series": len(samples)},
        )

    async def dry_run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        return await self.run(args, context)
