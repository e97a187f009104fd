"""The decision table, the directory and the user-group cache, as plain data."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.app.settings import read_config_file
from bot.automation.decide import ApprovalFacts, approval_refusal
from bot.errors import ConfigError
from bot.people.config import PeopleConfig
from bot.people.decide import MINIMUM_ROLE, may, refusal
from bot.people.directory import Directory
from bot.people.groups import GroupMembers, is_group_id
from bot.people.model import LOCAL_ADMIN, Action, Identity, Role

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_every_action_has_a_minimum_role() -> None:
    assert set(MINIMUM_ROLE) == set(Action)


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        (
            Role.VIEWER,
            [Action.VIEW],
            [Action.ACKNOWLEDGE, Action.ADD_NOTE, Action.APPROVE_STEP, Action.EDIT_POSTMORTEM],
        ),
        (
            Role.RESPONDER,
            [
                Action.ACKNOWLEDGE,
                Action.RESOLVE,
                Action.PAUSE_AUTOMATION,
                Action.APPROVE_STEP,
                Action.EDIT_POSTMORTEM,
            ],
            [
                Action.RESUME_AUTOMATION,
                Action.CHANGE_SEVERITY,
                Action.EDIT_SCHEDULES,
                Action.POST_STATUS,
            ],
        ),
        (
            Role.COMMANDER,
            [
                Action.RESUME_AUTOMATION,
                Action.ASSIGN_COMMANDER,
                Action.EDIT_SCHEDULES,
                Action.POST_STATUS,
            ],
            [Action.PROMOTE_RUNBOOK],
        ),
        (Role.ADMIN, list(Action), []),
    ],
)
def test_the_table(role: Role, allowed: list[Action], refused: list[Action]) -> None:
    assert all(may(role, action) for action in allowed)
    assert not any(may(role, action) for action in refused)


def test_a_refusal_says_who_and_what_is_needed() -> None:
    viewer = Identity("bob", Role.VIEWER, "person")
    assert refusal(viewer, Action.ACKNOWLEDGE) == ("bob is a viewer; acknowledge needs responder")
    assert refusal(viewer, Action.VIEW) is None


def directory() -> Directory:
    config = PeopleConfig.model_validate(
        {
            "directory": [
                {"id": "alice", "name": "Alice", "slack": "UALICE", "role": "commander"},
                {"id": "bob", "slack": "UBOB", "timezone": "Europe/Berlin"},
            ],
            "groups": [{"slack_group": "SONCALL", "role": "responder"}],
            "tokens": [
                {
                    "name": "alice-cli",
                    "sha256": sha("t-alice"),
                    "person": "alice",
                    "role": "responder",
                },
                {
                    "name": "grafana",
                    "sha256": sha("t-graf"),
                    "service": "grafana",
                    "role": "viewer",
                },
            ],
        }
    )
    return Directory(config, SecretStr("shared"))


def test_a_named_token_is_its_identity_and_ignores_a_claimed_actor() -> None:
    people = directory()
    alice = people.identity_from_headers(bearer("t-alice"))
    assert alice == Identity("alice", Role.RESPONDER, "person", frozenset({"alice", "UALICE"}))
    assert alice.actor_for("mallory") == "alice"
    grafana = people.identity_from_headers(bearer("t-graf"))
    assert grafana is not None
    assert (grafana.actor, grafana.role) == ("grafana", Role.VIEWER)


def test_the_shared_token_is_an_admin_that_names_its_actor() -> None:
    shared = directory().identity_from_headers(bearer("shared"))
    assert shared is not None
    assert shared.role is Role.ADMIN
    assert shared.actor_for("U123") == "U123"


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"authorization": "Basic dC1hbGljZQ=="}, {"authorization": "Bearer "}],
)
def test_anything_else_is_not_authenticated(headers: dict[str, str]) -> None:
    assert directory().identity_from_headers(headers) is None


def test_without_any_config_the_caller_is_the_local_admin() -> None:
    people = Directory(PeopleConfig())
    assert people.identity_from_headers({}) is LOCAL_ADMIN
    assert people.slack_identity("UANY").role is Role.COMMANDER
    only_shared = Directory(PeopleConfig(), SecretStr("shared"))
    assert only_shared.identity_from_headers({}) is None


def test_slack_users_get_the_highest_of_their_grants() -> None:
    people = directory()
    assert people.slack_identity("UALICE").role is Role.COMMANDER
    assert people.slack_identity("UBOB").role is Role.VIEWER
    assert people.slack_identity("UBOB", frozenset({"SONCALL"})).role is Role.RESPONDER
    assert people.slack_identity("USTRANGER").role is Role.VIEWER
    assert "bob" in people.slack_identity("UBOB").aliases


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"tokens": [{"name": "x", "sha256": "abc", "service": "s", "role": "admin"}]}, "64 hex"),
        ({"tokens": [{"name": "x", "sha256": sha("a"), "role": "admin"}]}, "exactly one"),
        (
            {"tokens": [{"name": "x", "sha256": sha("a"), "person": "z", "role": "admin"}]},
            "unknown",
        ),
        ({"directory": [{"id": "a", "timezone": "Mars/Base"}]}, "IANA"),
        ({"groups": [{"slack_group": "S1", "role": "root"}]}, "role"),
    ],
)
def test_config_mistakes_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PeopleConfig.model_validate(section)


def test_an_approver_listed_as_a_group_matches_its_members() -> None:
    facts = ApprovalFacts(
        triggered_by="fireline",
        approvers=("SLEADS",),
        args_hash="h",
        stored_args_hash="h",
        expires_at=NOW + timedelta(minutes=5),
    )
    member = approval_refusal(
        facts, by="UBOB", by_aliases=frozenset({"SLEADS"}), expected_hash=None, now=NOW
    )
    assert member is None
    stranger = approval_refusal(facts, by="UBOB", expected_hash=None, now=NOW)
    assert stranger is not None
    assert stranger.kind == "permission"


def test_a_trigger_known_by_another_name_still_cannot_approve() -> None:
    facts = ApprovalFacts("alice", ("UALICE",), "h", "h", NOW + timedelta(minutes=5))
    refused = approval_refusal(
        facts, by="UALICE", by_aliases=frozenset({"alice"}), expected_hash=None, now=NOW
    )
    assert refused is not None
    assert "started this run" in refused.message


def test_is_group_id() -> None:
    assert is_group_id("S0123LEADS")
    assert not any(is_group_id(x) for x in ("U123", "alice", "S", "Sleads"))


async def test_group_members_are_cached_for_their_ttl() -> None:
    now = [NOW]
    calls: list[str] = []
    members = {"SONCALL": frozenset({"UBOB"})}

    async def fetch(group: str) -> frozenset[str]:
        calls.append(group)
        if group == "SBROKEN":
            raise RuntimeError("slack is down")
        return members.get(group, frozenset())

    cache = GroupMembers(fetch, clock=lambda: now[0], ttl=timedelta(minutes=5))
    assert await cache.groups_of("UBOB", ["SONCALL", "alice", "SBROKEN"]) == {"SONCALL"}
    assert await cache.groups_of("UBOB", ["SONCALL"]) == {"SONCALL"}
    assert calls == ["SBROKEN", "SONCALL"]
    members["SONCALL"] = frozenset()
    now[0] += timedelta(minutes=6)
    assert await cache.groups_of("UBOB", ["SONCALL"]) == frozenset()
    assert calls[-1] == "SONCALL"
    assert len(calls) == 3


def test_a_config_file_mistake_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yaml"
    path.write_text(
        "people:\n"
        "  directory:\n"
        "    - {id: alice}\n"
        "  tokens:\n"
        "    - name: ci\n"
        "      sha256: nothex\n"
        "      service: ci\n"
        "      role: admin\n"
    )
    with pytest.raises(ConfigError, match=r"fireline.yaml:\d+: people.tokens.0.sha256"):
        read_config_file(path)
