"""Pure renderings of untrusted text: approvals, thread detail, escalation lines, and the
post-mortem's Markdown filters."""

from __future__ import annotations

from bot.chat.render import ChatMessage, approval_message, thread_message
from bot.chat.slack.blocks import message_blocks, message_text
from bot.events import EventKind
from bot.postmortem.render import as_text, code, prose

HOSTILE = "<!channel> <@U123> <https://evil.example|x> & ```"


def test_an_approvals_parameters_and_description_are_text() -> None:
    message = approval_message(
        f"Step restart needs approval {HOSTILE}",
        {"step_run_id": 7, "args_hash": "h", "params": {"pod": HOSTILE}, "description": HOSTILE},
    )
    blocks = message_blocks(message)
    head, detail = blocks[0]["text"]["text"], blocks[1]["text"]["text"]
    assert "<" not in head
    assert head.count("&lt;!channel&gt;") == 2
    assert detail.startswith("```")
    assert detail.endswith("```")
    assert detail.count("```") == 2  # the value's own fence closes nothing
    assert "<" not in detail
    assert "&amp;" in detail


def test_escalation_lines_mention_only_whom_fireline_paged() -> None:
    text = "[SEV1] <!here> down: level 1 of p notifies <@U1>, <!subteam^S1> (severity raised)"
    data = {"users": ["U1"], "groups": ["S1"], "targets": ["schedule:primary", "group:S1"]}
    message = thread_message(EventKind.ESCALATION_NOTIFIED, text, data, "normal")
    assert message is not None
    assert message.mentions == ("user:U1", "group:S1")
    shown = message_text(message)
    assert shown.endswith("(severity raised) notifies <@U1> <!subteam^S1>")
    assert "&lt;!here&gt;" in shown
    assert shown.count("<") == 2


def test_mentions_of_malformed_targets_are_text() -> None:
    message = ChatMessage("paged", mentions=("user:<!channel>", "group:S1>x", "user:U1"))
    assert message_text(message) == "paged user:&lt;!channel&gt; group:S1&gt;x <@U1>"


def test_long_text_keeps_its_mentions() -> None:
    message = ChatMessage("x" * 50_000, mentions=("user:U1",))
    shown = message_text(message)
    assert len(shown) <= 40_000
    assert shown.endswith("\u2026 <@U1>")
    assert len(message_blocks(message)[0]["text"]["text"]) <= 3000


def test_markdown_values_show_as_text() -> None:
    assert as_text("<b>hi</b> *x* [l](http://e) a_b _c_ | ` &amp;") == (
        "\\<b\\>hi\\</b\\> \\*x\\* \\[l\\](http://e) a_b \\_c\\_ \\| \\` \\&amp;"
    )
    assert as_text(3) == 3
    assert as_text("line\nbreak\x1b[2J") == "line break\\\\u001b\\[2J"
    assert code("a `b` c") == "``a `b` c``"
    assert code("`x`") == "`` `x` ``"
    assert prose("Runbook `web` failed: <!x> *y*") == "Runbook `web` failed: \\<!x\\> \\*y\\*"
