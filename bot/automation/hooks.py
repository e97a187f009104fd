"""The adapter triage calls when it picks a runbook: plan the run in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from bot.automation import service
from bot.runbooks.lint import is_under
from bot.runbooks.model import Runbook
from bot.runbooks.params import ParamResolution
from storage.tables import Incident

TRIGGER = "alertmanager"


class TriagePlanner:
    def __init__(self, trusted_dirs: Sequence[Path]) -> None:
        self._trusted = list(trusted_dirs)

    def __call__(
        self,
        session: Session,
        incident: Incident,
        runbook: Runbook,
        resolution: ParamResolution,
        *,
        fingerprint: str,
        starts_at: datetime,
        now: datetime,
    ) -> object:
        return service.plan_run(
            session,
            incident,
            runbook,
            resolution,
            fingerprint=fingerprint,
            starts_at=starts_at,
            trusted=is_under(Path(runbook.file), self._trusted),
            triggered_by=TRIGGER,
            now=now,
        )
