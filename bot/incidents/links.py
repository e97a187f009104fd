"""Acting on an acknowledge or resolve link, or an SMS reply: the action and the spent
nonce (or the reply's message id) in one transaction, so each works once, and a crash
cannot do one without the other."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.errors import ConflictError
from bot.incidents import lifecycle
from bot.incidents.decide import IncidentStatus
from bot.incidents.lifecycle import StatusHooks
from bot.people.links import LinkAction, LinkClaim, LinkRefusedError
from storage import queries_security
from storage.db import Database
from storage.tables import Incident

REPLY_MEMORY = timedelta(days=7)  # how long a provider's message id is remembered


def refusal_of_state(incident: Incident, action: LinkAction) -> str | None:
    """Why the link's action has nothing to do (the incident moved on), or None."""
    if incident.status == IncidentStatus.RESOLVED:
        return (
            f"incident #{incident.id} was already resolved by {incident.resolved_by or 'Fireline'}"
        )
    if action is LinkAction.ACKNOWLEDGE and incident.status == IncidentStatus.ACKNOWLEDGED:
        return f"incident #{incident.id} was already acknowledged by {incident.acknowledged_by}"
    return None


def link_spent(db: Database, claim: LinkClaim) -> bool:
    with db.session() as session:
        return queries_security.link_used(session, claim.nonce) is not None


def act_on_link(
    db: Database, claim: LinkClaim, *, hooks: StatusHooks | None, now: datetime
) -> Incident:
    """Do the link's action as its person. An incident that moved on (409) leaves the
    link unspent, so it still works if the incident opens again."""
    with db.write() as session:
        incident = lifecycle.locked(session, claim.incident_id)
        if queries_security.link_used(session, claim.nonce) is not None:
            raise LinkRefusedError("this link was already used")
        why_not = refusal_of_state(incident, claim.action)
        if why_not:
            raise ConflictError(why_not)
        queries_security.use_link(
            session,
            claim.nonce,
            incident_id=claim.incident_id,
            person=claim.person,
            action=claim.action.value,
            now=now,
        )
        _act(session, incident, claim.action, claim.person, hooks=hooks, via="link", now=now)
        return incident


def act_on_reply(
    db: Database,
    incident_id: int,
    *,
    person: str,
    action: LinkAction,
    message_id: str,
    hooks: StatusHooks | None,
    now: datetime,
) -> Incident | None:
    """Do what an SMS reply asks, once per provider message id: None when this message was
    handled already (the provider sent it again)."""
    with db.write() as session:
        incident = lifecycle.locked(session, incident_id)
        fresh = queries_security.first_sighting(
            session, f"sms:{message_id}", expires_at=now + REPLY_MEMORY, now=now
        )
        if not fresh:
            return None
        why_not = refusal_of_state(incident, action)
        if why_not:
            raise ConflictError(why_not)
        _act(session, incident, action, person, hooks=hooks, via="sms", now=now)
        return incident


def _act(
    session: Session,
    incident: Incident,
    action: LinkAction,
    person: str,
    *,
    hooks: StatusHooks | None,
    via: str,
    now: datetime,
) -> None:
    if action is LinkAction.ACKNOWLEDGE:
        lifecycle.acknowledge(session, incident, actor=person, now=now, hooks=hooks, via=via)
        return
    lifecycle.resolve(
        session,
        incident,
        actor=person,
        text=f"Resolved by {person} (by {via})",
        reason=f"resolved by {person}",
        at=now,
        now=now,
        hooks=hooks,
        data={"via": via},
    )
