"""Alert text is data: hostile labels, annotations and notes sent through the real app
(webhook, triage, card, thread, escalation direct message), ``fireline simulate`` and
the post-mortem never become markup, and every Slack text fits Slack's limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.settings import Settings
from bot.chat.slack.text import cut, escape, link
from tests.automation.support import post_alert, wait_for
from tests.automation.test_simulate import simulate
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin, slash
from tests.slack.test_slack import send
from tests.support import alert, payload, running_app

BROADCASTS = "<!channel> <!here> <@U123> <!subteam^S1> <https://evil.example/login|Click>"
BREAKOUT = "https://evil.example/|fake> <!channel> <https://x"
HUGE = "A" * 1_040_000
CONTROL = "\x1b[31mred\x1b[0m \x07 \u202eexe.txt\u202c \u2066iso\u2069"
ESCAPED = "&lt;!channel&gt; &amp;"
AMPERSANDS = "&" * 5000

# Fireline's own markup, the only markup the test accepts.
OWN = re.compile(
    r"<@UONCALL1>|<!subteam\^SSRE0001>|<#C[A-Z0-9]+>|<https?://[^\s|<>]+\|alert source>"
)
LIMITS = {"header": 150, "section": 3000, "field": 2000, "context": 3000}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


def hostile_alert() -> dict[str, Any]:
    body = alert(
        "Checkout<!here>",
        labels={
            "service": "<!channel>",
            "namespace": BROADCASTS,
            "instance": HUGE,
            "env": CONTROL,
            "cluster": ESCAPED,
            "severity": "critical",
        },
        annotations={
            "summary": f"Checkout down {BROADCASTS} {CONTROL} {ESCAPED}",
            "description": AMPERSANDS,
        },
    )
    body["generatorURL"] = BREAKOUT
    return payload([body])


def mrkdwn_texts(value: Any, kind: str = "section") -> Iterator[tuple[str, str]]:
    """Every (block kind, text) in a Block Kit structure."""
    if isinstance(value, list):
        for item in value:
            yield from mrkdwn_texts(item, kind)
    elif isinstance(value, dict):
        kind = value.get("type", kind) if value.get("type") in LIMITS else kind
        if value.get("type") in ("mrkdwn", "plain_text"):
            yield ("field" if kind == "field" else kind), str(value["text"])
        for key, inner in value.items():
            if key == "fields":
                for field in inner:
                    yield "field", str(field["text"])
            elif key != "text" or isinstance(inner, dict):
                yield from mrkdwn_texts(inner, kind)


def assert_inert(text: str, where: str) -> None:
    rest = OWN.sub("", text)
    assert not re.search("[<>]", rest), f"{where}: markup in {rest[:300]!r}"
    assert not re.search(r"&(?!amp;|lt;|gt;)", text), f"{where}: a raw or cut entity"
    assert not re.search("[\x07\x1b\u202e]", text), where


def check_call(call: dict[str, Any], where: str) -> None:
    text = str(call.get("text") or "")
    assert len(text) <= 40_000, where
    assert_inert(text, f"{where} text")
    blocks = call.get("blocks") or []
    assert len(blocks) <= 50, where
    for block in blocks:
        if block.get("type") == "context":
            assert len(block["elements"]) <= 10, where
        if block.get("type") == "header":
            assert len(block["text"]["text"]) <= 150, where
            assert "\x1b" not in block["text"]["text"], where
    for kind, shown in mrkdwn_texts(blocks):
        assert len(shown) <= LIMITS.get(kind, 3000), f"{where} {kind}: {len(shown)}"
        if kind != "header":  # plain_text: Slack shows it as it is, markup and all
            assert_inert(shown, f"{where} {kind}")


async def test_hostile_alert_text_never_becomes_markup_in_slack(
    make_settings: Callable[..., Settings], standin: SlackStandIn, tmp_path: Path
) -> None:
    config = tmp_path / "fireline.yaml"
    config.write_text(
        "escalation:\n  policies:\n    - name: p\n      levels:\n"
        "        - targets: [{user: UONCALL1}, {group: SSRE0001}]\n          delay: 1h\n"
    )
    settings = make_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url,
        slack_channel="CINC",
        slack_major_severity=None,
        http_allow=["127.0.0.0/8"],
        max_body_bytes=4 * 1024 * 1024,
        config=config,
    )
    async with running_app(settings) as (_app, client):
        await post_alert(client, hostile_alert())

        def thread_with(marker: str) -> list[dict[str, Any]]:
            return [m for m in standin.of("chat.postMessage") if marker in str(m.get("text"))]

        await wait_for(lambda: thread_with(":loudspeaker:"), what="the escalation mention")
        await wait_for(lambda: thread_with("You are paged"), what="the direct message")
        note = await client.post(
            "/api/incidents/1/notes", json={"text": f"{BROADCASTS} {CONTROL}", "actor": BREAKOUT}
        )
        assert note.status_code == 201, note.text
        await wait_for(lambda: thread_with(":memo:"), what="the note in the thread")
        draft = await client.get("/api/incidents/1/postmortem")

    calls = [("post", c) for c in standin.of("chat.postMessage")]
    calls += [("update", c) for c in standin.of("chat.update")]
    for i, (method, call) in enumerate(calls):
        check_call(call, f"{method} #{i} to {call.get('channel')}")

    # A page's direct message has a lane of its own and may come before the card.
    (card,) = [
        c
        for c in standin.of("chat.postMessage")
        if (c.get("metadata") or {}).get("event_type") == "fireline_card"
    ]
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    assert "&lt;!channel&gt;" in shown  # the service, shown as what it is
    assert "&amp;lt;!channel&amp;gt;" in shown  # already-escaped text is not unescaped
    assert "\\\\u202e" in shown  # the override is spelled out, not obeyed
    assert "\u2026" in shown  # the huge label is cut, visibly
    source = next(t for _, t in mrkdwn_texts(card["blocks"]) if "alert source" in t)
    assert "<https://evil.example/%7Cfake%3E%20%3C!channel%3E%20%3Chttps://x|alert source>" in (
        source
    )

    mention = next(m for m in thread_with(":loudspeaker:") if m["channel"] == "CINC")
    assert "<@UONCALL1>" in mention["text"]
    assert "<!subteam^SSRE0001>" in mention["text"]
    [dm] = thread_with("You are paged")
    assert dm["channel"] == "DUONCALL1"
    assert "&lt;!channel&gt;" in dm["text"]

    assert draft.status_code == 200
    markdown = draft.text
    for line in markdown.splitlines():
        body = line.removeprefix("> ")  # the template's own quote
        assert not re.search(r"(?<!\\)[<>]", body), f"HTML or an autolink: {line[:300]!r}"
    assert "\\<!channel\\>" in markdown
    assert "\x1b" not in markdown
    assert "\u202e" not in markdown


def test_simulate_prints_hostile_text_inert(tmp_path: Path) -> None:
    body = hostile_alert()
    body["alerts"][0]["labels"]["instance"] = "[bold red]styled[/bold red] " + CONTROL
    done = simulate(tmp_path, body)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\x07" not in out
    assert "\\u001b[31mred" in out
    assert "\\u202e" in out
    assert "&lt;!channel&gt;" in out  # the Slack lines are what Slack would be sent
    assert "<!here>" in out  # the alert's name, printed as text
    as_json = simulate(tmp_path, body, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert "\x1b" not in as_json.stdout
    assert "\u202e" not in as_json.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ok.example/a?b=1&c=2", "<https://ok.example/a?b=1&amp;c=2|src>"),
        (BREAKOUT, "<https://evil.example/%7Cfake%3E%20%3C!channel%3E%20%3Chttps://x|src>"),
        ("javascript:alert(1)", "src (javascript:alert(1))"),
        ("slack://channel?id=C1", "src (slack://channel?id=C1)"),
        ("<!channel>", "src (&lt;!channel&gt;)"),
    ],
)
def test_links_come_only_from_web_urls_and_cannot_break_out(url: str, expected: str) -> None:
    assert link(url, "src") == expected


def test_cuts_end_in_an_ellipsis_and_never_split_an_entity() -> None:
    text = escape("&" * 100)
    for limit in range(5, 60):
        shown = cut(text, limit)
        assert len(shown) <= limit
        assert shown.endswith("\u2026")
        assert re.fullmatch(r"(&amp;)*\u2026", shown)
    assert cut("short", 10) == "short"
    assert escape("<@U1> & <!here>") == "&lt;@U1&gt; &amp; &lt;!here&gt;"


async def test_slash_command_answers_show_titles_as_text(
    make_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    settings = make_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url,
        slack_channel="CINC",
        http_allow=["127.0.0.0/8"],
    )
    async with running_app(settings) as (_app, client):
        declared = await send(
            client, slash("declare <!channel> <https://evil.example|x> SEV3", user="UIC0001")
        )
        assert declared.text == (
            "Declared incident #1: &lt;!channel&gt; &lt;https://evil.example|x&gt;"
        )
        status = await send(client, slash("status 1", user="UIC0001"))
        assert status.text.startswith("#1 [SEV3] &lt;!channel&gt; &lt;https://evil.example|x&gt;")
