"""A run's plan: the runbook as it was when the run was created, stored with the run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from actions.gates import Mode
from bot.runbooks.model import Policy, Runbook, Step, StepKind, Verify


@dataclass(frozen=True)
class RunPlan:
    title: str
    policy: Policy
    verify: Verify | None
    approvers: tuple[str, ...]
    steps: tuple[Step, ...]

    @classmethod
    def of(cls, runbook: Runbook) -> RunPlan:
        return cls(runbook.title, runbook.policy, runbook.verify, runbook.approvers, runbook.steps)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "policy": self.policy.model_dump(mode="json", by_alias=True),
            "verify": self.verify.model_dump(mode="json") if self.verify else None,
            "approvers": list(self.approvers),
            "steps": [s.model_dump(mode="json") for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunPlan:
        return cls(
            title=str(data.get("title", "")),
            policy=Policy.model_validate(data.get("policy") or {}),
            verify=Verify.model_validate(data["verify"]) if data.get("verify") else None,
            approvers=tuple(data.get("approvers") or ()),
            steps=tuple(Step.model_validate(s) for s in data.get("steps") or ()),
        )

    @property
    def mode(self) -> Mode:
        return self.policy.mode

    def main_steps(self) -> Iterator[Step]:
        """Steps in runbook order; rollback steps run only after a failed verification."""
        return (s for s in self.steps if s.kind is not StepKind.ROLLBACK)

    def rollback_steps(self, succeeded: set[str]) -> list[Step]:
        """The rollbacks to run: those named by a step that succeeded, or every rollback
        step when the runbook says ``verify.on_fail: rollback``."""
        named = {s.rollback for s in self.steps if s.rollback and s.id in succeeded}
        everything = self.verify is not None and self.verify.on_fail == "rollback"
        return [
            s for s in self.steps if s.kind is StepKind.ROLLBACK and (everything or s.id in named)
        ]
