"""The chat decisions: which events reach the thread at each verbosity, the slash
command's grammar, channel names."""

from __future__ import annotations

import pytest

from bot.chat.commands import CommandError, parse_command
from bot.chat.render import Verbosity, channel_name, thread_message


@pytest.mark.parametrize(
    ("kind", "quiet", "normal", "debug"),
    [
        ("incident.resolved", True, True, True),
        ("step.succeeded", False, True, True),
        ("step.started", False, False, True),
        ("triage.decided", False, False, True),
        ("step.awaiting_approval", True, True, True),  # approvals always
        ("escalation.notified", True, True, True),  # pages always
        ("webhook.ignored", False, False, False),
    ],
)
def test_verbosity(kind: str, quiet: bool, normal: bool, debug: bool) -> None:
    verbosity: Verbosity
    for verbosity, expected in (("quiet", quiet), ("normal", normal), ("debug", debug)):
        shown = thread_message(kind, "text", {"output": "out"}, verbosity) is not None
        assert shown == expected, (kind, verbosity)


def test_only_debug_shows_step_output() -> None:
    data = {"output": "REVISION 3"}
    normal = thread_message("step.succeeded", "ok", data, "normal")
    debug = thread_message("step.succeeded", "ok", data, "debug")
    assert normal is not None
    assert normal.detail is None
    assert debug is not None
    assert debug.detail == "REVISION 3"


def test_an_approval_carries_the_step_and_its_parameters_hash() -> None:
    message = thread_message(
        "step.awaiting_approval",
        "Step heal needs approval",
        {"step_run_id": 7, "args_hash": "abc", "params": {"url": "http://x/heal"}},
        "quiet",
    )
    assert message is not None
    assert [(b.action, b.value) for b in message.buttons] == [
        ("approve", "7:abc"),
        ("reject", "7:abc"),
    ]
    assert message.detail == "url: http://x/heal"


@pytest.mark.parametrize(
    ("text", "here", "expected"),
    [
        ("", None, ("help", None, "")),
        ("ack", 4, ("ack", 4, "")),
        ("ack #12", 4, ("ack", 12, "")),
        ("resolve 12 fixed by rollback", None, ("resolve", 12, "fixed by rollback")),
        ("note the canary is at 5%", 3, ("note", 3, "the canary is at 5%")),
        ("declare Search is down SEV1", None, ("declare", None, "Search is down")),
        ("oncall primary", None, ("oncall", None, "primary")),
    ],
)
def test_command_grammar(
    text: str, here: int | None, expected: tuple[str, int | None, str]
) -> None:
    command = parse_command(text, channel_incident=here)
    assert (command.name, command.incident_id, command.text) == expected


def test_commands_say_what_to_type_instead() -> None:
    with pytest.raises(CommandError, match="/fireline ack #12"):
        parse_command("ack", channel_incident=None)
    with pytest.raises(CommandError, match="commander @someone"):
        parse_command("commander #3", channel_incident=None)
    with pytest.raises(CommandError, match="unknown command 'deploy'"):
        parse_command("deploy prod", channel_incident=None)
    assert parse_command("commander <@U123|ann> #3", channel_incident=None).user == "U123"
    assert parse_command("declare x sev2", channel_incident=None).severity == "SEV2"
    with pytest.raises(CommandError, match="status monitoring <text>"):
        parse_command("status #3 monitoring", channel_incident=None)


def test_status_with_a_phase_and_text_is_a_public_update() -> None:
    posting = parse_command("status #3 Identified The cache is cold", channel_incident=None)
    assert (posting.incident_id, posting.phase, posting.text) == (
        3,
        "identified",
        "The cache is cold",
    )
    here = parse_command("status monitoring Looks better", channel_incident=5)
    assert (here.incident_id, here.phase, here.text) == (5, "monitoring", "Looks better")
    showing = parse_command("status #3", channel_incident=None)
    assert (showing.incident_id, showing.phase) == (3, None)


def test_channel_names_fit_slack() -> None:
    assert channel_name(12, "Payments: 50% errors (EU)!") == "inc-12-payments-50-errors-eu"
    assert len(channel_name(1, "x" * 200)) == 80
