"""Acting on an acknowledge or resolve link: the action and the spent nonce in one
transaction, so a link works once, and a crash cannot do one without the other."""

from __future__ import annotations

from datetime import datetime

from bot.errors import ConflictError
from bot.incidents import lifecycle
from bot.incidents.decide import IncidentStatus
from bot.incidents.lifecycle import StatusHooks
from bot.people.links import LinkAction, LinkClaim, LinkRefusedError
from storage import queries_security
from storage.db import Database
from storage.tables import Incident


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
        if claim.action is LinkAction.ACKNOWLEDGE:
            lifecycle.acknowledge(
                session, incident, actor=claim.person, now=now, hooks=hooks, via="link"
            )
        else:
            lifecycle.resolve(
                session,
                incident,
                actor=claim.person,
                text=f"Resolved by {claim.person} (from a notification's link)",
                reason=f"resolved by {claim.person}",
                at=now,
                now=now,
                hooks=hooks,
                data={"via": "link"},
            )
        return incident
