"""Who may do what: one table of action -> minimum role, used by the API, Slack and the CLI.

Pausing automation is a responder's action on purpose: stopping automation is the safe
direction, and the person who sees it misbehave at 3 AM must be able to stop it. Resuming
it, or anything that lets automation do more, needs more trust.
"""

from __future__ import annotations

from types import MappingProxyType

from bot.people.model import Action, Identity, Role

MINIMUM_ROLE: MappingProxyType[Action, Role] = MappingProxyType(
    {
        Action.VIEW: Role.VIEWER,
        Action.ADD_NOTE: Role.RESPONDER,
        Action.DECLARE: Role.RESPONDER,
        Action.ACKNOWLEDGE: Role.RESPONDER,
        Action.UNACKNOWLEDGE: Role.RESPONDER,
        Action.RESOLVE: Role.RESPONDER,
        Action.ESCALATE: Role.RESPONDER,
        Action.SILENCE: Role.RESPONDER,
        Action.APPROVE_STEP: Role.RESPONDER,
        Action.PAUSE_AUTOMATION: Role.RESPONDER,
        Action.RESUME_AUTOMATION: Role.COMMANDER,
        Action.CHANGE_SEVERITY: Role.COMMANDER,
        Action.ASSIGN_COMMANDER: Role.COMMANDER,
        Action.RUN_RUNBOOK: Role.COMMANDER,
        Action.PROMOTE_RUNBOOK: Role.ADMIN,
        Action.EDIT_SCHEDULES: Role.COMMANDER,
        Action.POST_STATUS: Role.COMMANDER,
        Action.EDIT_POSTMORTEM: Role.RESPONDER,
        Action.EDIT_OWN_CONTACT_METHODS: Role.RESPONDER,
        Action.EDIT_CONTACT_METHODS: Role.ADMIN,
        # Holding pages for planned work is routine for the people doing the work.
        Action.START_MAINTENANCE: Role.RESPONDER,
        Action.END_MAINTENANCE: Role.RESPONDER,
        # A CI job or a person saying what they changed.
        Action.RECORD_CHANGE: Role.RESPONDER,
    }
)


def may(role: Role, action: Action) -> bool:
    return role.rank >= MINIMUM_ROLE[action].rank


def refusal(identity: Identity, action: Action) -> str | None:
    """Why ``identity`` may not do ``action``, or None when it may."""
    if may(identity.role, action):
        return None
    needed = MINIMUM_ROLE[action]
    return f"{identity.actor} is a {identity.role.value}; {action.value} needs {needed.value}"
