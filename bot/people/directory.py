"""The people directory: who a bearer token or a Slack user is, and with what role."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from bot.people.config import PeopleConfig, PersonConfig
from bot.people.model import LEGACY_ADMIN, LOCAL_ADMIN, Identity, Role


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is configured and compared."""
    return hashlib.sha256(token.encode()).hexdigest()


def _highest(roles: Iterable[Role]) -> Role | None:
    return max(roles, key=lambda role: role.rank, default=None)


@dataclass(frozen=True)
class Directory:
    config: PeopleConfig
    legacy_token: SecretStr | None = None

    @property
    def group_ids(self) -> frozenset[str]:
        """The user groups whose members hold a role."""
        return frozenset(g.slack_group for g in self.config.groups)

    def person(self, person_id: str) -> PersonConfig | None:
        return next((p for p in self.config.directory if p.id == person_id), None)

    def identity_from_headers(self, headers: Mapping[str, str]) -> Identity | None:
        """The caller of an API request, or None when it is not authenticated.

        With neither named tokens nor ``FIRELINE_API_TOKEN`` configured the API is open
        (loopback only, as the settings check): the caller is the local admin."""
        token = bearer_token(headers)
        if token is not None:
            identity = self.identity_from_digest(token_digest(token))
            if identity is not None:
                return identity
        return LOCAL_ADMIN if self.is_open else None

    @property
    def is_open(self) -> bool:
        """No credential is configured: whoever reaches the service is the local admin."""
        return self.legacy_token is None and not self.config.tokens

    def identity_from_digest(self, digest: str) -> Identity | None:
        """Whose token has this SHA-256 (hex), if any; the console's session keeps the
        digest, never the token, and asks again on every request, so a token removed from
        the configuration signs its sessions out.

        A named token is matched in constant time with every configured hash; the shared
        ``FIRELINE_API_TOKEN`` acts as an admin that may name its actor."""
        found = None
        for grant in self.config.tokens:
            if hmac.compare_digest(digest.encode(), grant.sha256.encode()):
                found = grant
        if found is not None:
            if found.service is not None:
                return Identity(found.service, found.role, "service", frozenset())
            assert found.person is not None
            return Identity(found.person, found.role, "person", self._aliases(found.person))
        legacy = self.legacy_token
        if legacy is not None and hmac.compare_digest(
            digest.encode(), token_digest(legacy.get_secret_value()).encode()
        ):
            return LEGACY_ADMIN
        return None

    def _aliases(self, person_id: str) -> frozenset[str]:
        person = self.person(person_id)
        if person is None:
            return frozenset({person_id})
        return frozenset(filter(None, (person.id, person.slack)))

    def slack_identity(self, user: str, groups: frozenset[str] = frozenset()) -> Identity:
        """A Slack user, given the user groups (of ``group_ids`` or approvers) they are in."""
        person = next((p for p in self.config.directory if p.slack == user), None)
        granted = [g.role for g in self.config.groups if g.slack_group in groups]
        if person is not None and person.role is not None:
            granted.append(person.role)
        role = _highest(granted) or self.config.slack_default_role
        if role is None:
            role = Role.VIEWER if self.config.configured else Role.COMMANDER
        aliases = frozenset({user, *groups, *([person.id] if person else [])})
        return Identity(user, role, "slack", aliases)

    def command_identity(self, name: str) -> Identity:
        """Who a command run on this machine acts as: the person ``--by`` names.

        Without a people section, whoever runs a command is the local admin (they hold the
        database's credentials), recorded under the name given. With one, the person with
        that id or Slack user acts with their role, and a name the directory does not know
        is a viewer, so the CLI is refused what the API and Slack would refuse."""
        if not self.config.configured:
            return Identity(name, Role.ADMIN, "local", frozenset({name}))
        person = next((p for p in self.config.directory if name in (p.id, p.slack)), None)
        if person is None:
            return Identity(name, Role.VIEWER, "person", frozenset({name}))
        return Identity(person.id, person.role or Role.VIEWER, "person", self._aliases(person.id))


def open_directory() -> Directory:
    """No people configured and no token: everyone on loopback is the local admin."""
    return Directory(PeopleConfig())


__all__ = ["LOCAL_ADMIN", "Directory", "bearer_token", "open_directory", "token_digest"]
