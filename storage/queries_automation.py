"""Queries for runbook runs: claiming, guard facts, pauses, promotions and target locks.

Runs are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's single writer
serialises claims), and a step moves to ``running`` only through a conditional UPDATE, so
two replicas can never both start it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage import dialect
from storage.tables_automation import (
    ApprovalRequest,
    AutomationPause,
    RunbookPromotion,
    RunbookRun,
    StepRun,
    TargetLock,
)

RUNNABLE = ("pending", "running")
# States in which a mutating step has really started: these count against the limits.
EXECUTED = ("running", "succeeded", "failed", "timed_out", "interrupted")


def claim_runs(
    session: Session, *, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[int]:
    """Take runnable runs nobody holds (or whose holder's lease ran out)."""
    query = (
        select(RunbookRun)
        .where(col(RunbookRun.status).in_(RUNNABLE))
        .where(or_(col(RunbookRun.lease_until).is_(None), col(RunbookRun.lease_until) < now))
        .order_by(col(RunbookRun.id))
        .limit(limit)
    )
    query = dialect.claimed(session, query)
    runs = list(session.exec(query.execution_options(populate_existing=True)))
    for run in runs:
        run.claimed_by, run.lease_until = owner, lease_until
        session.add(run)
    return [run.id for run in runs if run.id is not None]


def runs_waiting(session: Session, *, now: datetime) -> bool:
    """Whether ``claim_runs`` would find a run (most ticks it would not)."""
    query = (
        select(RunbookRun.id)
        .where(col(RunbookRun.status).in_(RUNNABLE))
        .where(or_(col(RunbookRun.lease_until).is_(None), col(RunbookRun.lease_until) < now))
        .limit(1)
    )
    return session.exec(query).first() is not None


def runs_in_status(session: Session, incident_id: int, status: str) -> list[RunbookRun]:
    query = (
        select(RunbookRun)
        .where(RunbookRun.incident_id == incident_id)
        .where(RunbookRun.status == status)
        .order_by(col(RunbookRun.id))
    )
    query = dialect.locked(session, query)
    return list(session.exec(query.execution_options(populate_existing=True)))


def lock_run(session: Session, run_id: int) -> RunbookRun | None:
    query = select(RunbookRun).where(RunbookRun.id == run_id)
    query = dialect.locked(session, query)
    return session.exec(query.execution_options(populate_existing=True)).first()


def steps_of_run(session: Session, run_id: int) -> list[StepRun]:
    query = select(StepRun).where(StepRun.run_id == run_id).order_by(col(StepRun.position))
    return list(session.exec(query.execution_options(populate_existing=True)))


def start_step(
    session: Session, step_run_id: int, *, owner: str, now: datetime, lease: datetime
) -> bool:
    """Move a pending step to running; False when someone else already did."""
    result = session.execute(
        update(StepRun)
        .where(col(StepRun.id) == step_run_id, col(StepRun.state) == "pending")
        .values(state="running", started_at=now, claimed_by=owner, lease_until=lease)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def renew_leases(
    session: Session, *, run_id: int, step_run_id: int, owner: str, lease: datetime
) -> None:
    session.execute(
        update(StepRun)
        .where(col(StepRun.id) == step_run_id, col(StepRun.claimed_by) == owner)
        .values(lease_until=lease)
    )
    session.execute(
        update(RunbookRun)
        .where(col(RunbookRun.id) == run_id, col(RunbookRun.claimed_by) == owner)
        .values(lease_until=lease)
    )


def sweep_due(session: Session, *, now: datetime) -> bool:
    """Whether the sweep has anything to look at: an abandoned step, an expired approval
    or a run waiting for its verification (most ticks there is none)."""
    checks = (
        select(StepRun.id).where(StepRun.state == "running").where(col(StepRun.lease_until) < now),
        select(ApprovalRequest.id)
        .where(col(ApprovalRequest.decision).is_(None))
        .where(col(ApprovalRequest.expires_at) <= now),
        select(RunbookRun.id).where(RunbookRun.status == "verifying"),
    )
    return any(session.exec(query.limit(1)).first() is not None for query in checks)


def abandoned_steps(session: Session, *, now: datetime) -> list[StepRun]:
    """Steps marked running whose owner stopped renewing: it died mid-step."""
    query = (
        select(StepRun)
        .where(StepRun.state == "running")
        .where(col(StepRun.lease_until) < now)
        .order_by(col(StepRun.id))
    )
    query = dialect.claimed(session, query)
    return list(session.exec(query.execution_options(populate_existing=True)))


def expired_approvals(session: Session, *, now: datetime) -> list[ApprovalRequest]:
    query = (
        select(ApprovalRequest)
        .where(col(ApprovalRequest.decision).is_(None))
        .where(col(ApprovalRequest.expires_at) <= now)
        .order_by(col(ApprovalRequest.id))
    )
    query = dialect.claimed(session, query)
    return list(session.exec(query.execution_options(populate_existing=True)))


def verifying_runs(session: Session) -> list[RunbookRun]:
    query = select(RunbookRun).where(RunbookRun.status == "verifying").order_by(col(RunbookRun.id))
    query = dialect.claimed(session, query)
    return list(session.exec(query.execution_options(populate_existing=True)))


def approval_for(session: Session, step_run_id: int) -> ApprovalRequest | None:
    query = select(ApprovalRequest).where(ApprovalRequest.step_run_id == step_run_id)
    query = dialect.locked(session, query)
    return session.exec(query.execution_options(populate_existing=True)).first()


def approvers_of(session: Session, step_run_id: int) -> list[str]:
    """The approvers a step's approval request names, read without a lock."""
    query = select(ApprovalRequest).where(ApprovalRequest.step_run_id == step_run_id)
    approval = session.exec(query).first()
    return list(approval.approvers) if approval is not None else []


# --- guards -------------------------------------------------------------------------------


def active_pauses(session: Session, *, now: datetime) -> list[AutomationPause]:
    query = (
        select(AutomationPause)
        .where(col(AutomationPause.lifted_at).is_(None))
        .where(
            or_(col(AutomationPause.expires_at).is_(None), col(AutomationPause.expires_at) > now)
        )
        .order_by(col(AutomationPause.id))
    )
    return list(session.exec(query))


def last_change_on_target(session: Session, target: str, *, other_than: int) -> datetime | None:
    query = (
        select(func.max(StepRun.started_at))
        .join(RunbookRun, col(RunbookRun.id) == col(StepRun.run_id))
        .where(RunbookRun.target == target, col(RunbookRun.id) != other_than)
        .where(col(StepRun.mutating).is_(True), col(StepRun.state).in_(EXECUTED))
    )
    value: datetime | None = session.exec(query).one()
    return value


def runs_changing(session: Session, runbook_id: str, *, since: datetime, other_than: int) -> int:
    query = (
        select(func.count(func.distinct(StepRun.run_id)))
        .join(RunbookRun, col(RunbookRun.id) == col(StepRun.run_id))
        .where(RunbookRun.runbook_id == runbook_id, col(RunbookRun.id) != other_than)
        .where(col(StepRun.mutating).is_(True), col(StepRun.state).in_(EXECUTED))
        .where(col(StepRun.started_at) >= since)
    )
    return int(session.exec(query).one())


def mutating_steps_since(session: Session, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(StepRun)
        .where(col(StepRun.mutating).is_(True), col(StepRun.state).in_(EXECUTED))
        .where(col(StepRun.started_at) >= since)
    )
    return int(session.exec(query).one())


def target_holder(session: Session, target: str) -> int | None:
    lock = session.get(TargetLock, target)
    return lock.run_id if lock is not None else None


def take_target(session: Session, target: str, *, run_id: int, now: datetime) -> bool:
    """Hold ``target`` for this run; False when another run holds it."""
    stmt = dialect.upsert(session, TargetLock).values(target=target, run_id=run_id, acquired_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["target"]))
    return target_holder(session, target) == run_id


def release_target(session: Session, *, run_id: int) -> None:
    for lock in session.exec(select(TargetLock).where(TargetLock.run_id == run_id)):
        session.delete(lock)


def recent_verdicts(
    session: Session, runbook_id: str, *, limit: int
) -> Sequence[tuple[str, datetime]]:
    """The latest verification results of a runbook's runs, newest first."""
    query = (
        select(RunbookRun.verification, RunbookRun.finished_at)
        .where(RunbookRun.runbook_id == runbook_id)
        .where(col(RunbookRun.verification).is_not(None))
        .where(col(RunbookRun.finished_at).is_not(None))
        .order_by(col(RunbookRun.finished_at).desc(), col(RunbookRun.id).desc())
        .limit(limit)
    )
    return [(str(v), f) for v, f in session.exec(query) if f is not None]


def last_breaker_reset(session: Session, runbook_id: str) -> datetime | None:
    query = select(func.max(AutomationPause.lifted_at)).where(
        AutomationPause.scope == "runbook",
        AutomationPause.target == runbook_id,
        AutomationPause.kind == "breaker",
    )
    value: datetime | None = session.exec(query).one()
    return value


def is_promoted(session: Session, runbook_id: str, runbook_hash: str) -> bool:
    query = select(RunbookPromotion.id).where(
        RunbookPromotion.runbook_id == runbook_id, RunbookPromotion.runbook_hash == runbook_hash
    )
    return session.exec(query).first() is not None


def promote(
    session: Session, runbook_id: str, runbook_hash: str, *, by: str, now: datetime
) -> bool:
    """Record the promotion; False when this version was already promoted."""
    stmt = dialect.upsert(session, RunbookPromotion).values(
        runbook_id=runbook_id, runbook_hash=runbook_hash, promoted_by=by, promoted_at=now
    )
    result = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["runbook_id", "runbook_hash"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def runs_of_incident(session: Session, incident_id: int) -> list[RunbookRun]:
    query = select(RunbookRun).where(RunbookRun.incident_id == incident_id)
    return list(session.exec(query.order_by(col(RunbookRun.id))))


def promoted_versions(session: Session) -> set[tuple[str, str]]:
    """Every promoted (runbook id, runbook hash)."""
    return {(p.runbook_id, p.runbook_hash) for p in session.exec(select(RunbookPromotion))}
