"""Roles, actions and identities: plain data shared by the API, Slack and the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
"""A Slack user id (``U012AB3CD``; ``W`` for Enterprise Grid): what may be mentioned."""


class Role(StrEnum):
    """Roles from least to most trusted; each one may do what the ones before it may."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    COMMANDER = "commander"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Action(StrEnum):
    """Everything a person or a service may be allowed to do."""

    VIEW = "view"
    ADD_NOTE = "add_note"
    DECLARE = "declare"
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    SILENCE = "silence"
    APPROVE_STEP = "approve_step"
    PAUSE_AUTOMATION = "pause_automation"
    RESUME_AUTOMATION = "resume_automation"
    CHANGE_SEVERITY = "change_severity"
    ASSIGN_COMMANDER = "assign_commander"
    RUN_RUNBOOK = "run_runbook"
    PROMOTE_RUNBOOK = "promote_runbook"
    EDIT_SCHEDULES = "edit_schedules"
    POST_STATUS = "post_status"
    EDIT_POSTMORTEM = "edit_postmortem"
    EDIT_OWN_CONTACT_METHODS = "edit_own_contact_methods"
    EDIT_CONTACT_METHODS = "edit_contact_methods"  # anyone's
    START_MAINTENANCE = "start_maintenance"
    END_MAINTENANCE = "end_maintenance"
    RECORD_CHANGE = "record_change"  # a deploy, config change, flag flip or rollback


IdentityKind = Literal["person", "service", "legacy", "local", "slack"]


@dataclass(frozen=True)
class Identity:
    """Who is asking. ``actor`` is what the timeline records; ``aliases`` every name the
    identity is known by (person id, Slack user, Slack user groups) for approver lists."""

    actor: str
    role: Role
    kind: IdentityKind
    aliases: frozenset[str] = field(default_factory=frozenset)

    @property
    def trusts_claimed_actor(self) -> bool:
        """The shared legacy token and loopback mode name no person, so a body's actor
        field is still taken from them; a named token's identity is never overridden."""
        return self.kind in ("legacy", "local")

    def actor_for(self, claimed: str | None) -> str:
        return claimed if claimed and self.trusts_claimed_actor else self.actor

    def with_aliases(self, more: frozenset[str]) -> Identity:
        return Identity(self.actor, self.role, self.kind, self.aliases | more)


LOCAL_ADMIN = Identity("api", Role.ADMIN, "local")
LEGACY_ADMIN = Identity("api", Role.ADMIN, "legacy")
