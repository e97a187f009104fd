"""The chaos report's definitions (bench/chaos_report.py) on hand-made records: each
figure counts what it says, so the chaos run can fail for the right reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench.chaos_report import (
    Arrival,
    Event,
    SlackCall,
    card_figures,
    compare_thread,
    duplicate_steps,
    expected_thread,
    page_figures,
    thread_figures,
)
from bot.events import EventKind

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def event(id: int, incident: int, kind: str, text: str = "", **data: Any) -> Event:
    return Event(id, incident, kind, text, data, T0 + timedelta(seconds=id))


def page(incident: int, level: int, at: float) -> Arrival:
    body = {"event": "escalation", "incident_id": incident, "level": level, "round": 0}
    return Arrival("/page", {}, body, at)


def notified(id: int, incident: int, level: int, due: datetime) -> Event:
    return event(
        id,
        incident,
        EventKind.ESCALATION_NOTIFIED,
        level=level,
        round=0,
        fired_due_at=due.isoformat(),
    )


def test_a_page_sent_again_after_a_rolled_back_firing_is_a_duplicate() -> None:
    events = [event(1, 1, EventKind.INCIDENT_OPENED), notified(2, 1, 1, T0), notified(3, 1, 2, T0)]
    pages = [page(1, 1, T0.timestamp() + 0.5), page(1, 1, T0.timestamp() + 3), page(1, 2, 0)]
    down = [(T0.timestamp() - 1, T0.timestamp() + 1)]
    figures = page_figures(pages, events, [1], delay=4, down=down)
    assert figures.duplicates == 1
    assert figures.lost == 0
    assert max(figures.delays) == 0.5  # the first arrival pages; level 2 came "early"
    assert len(figures.across_crash) == 2  # both were due while the server was down


def test_a_second_decided_page_is_not_a_duplicate_and_a_missing_one_is_lost() -> None:
    due = T0 + timedelta(seconds=10)
    events = [notified(2, 1, 1, T0), notified(3, 1, 1, due)]
    pages = [page(1, 1, T0.timestamp() + 1), page(1, 1, due.timestamp() + 12)]
    figures = page_figures(pages, events, [1], delay=4)
    assert figures.duplicates == 0
    assert figures.lost == 1  # level 2 never arrived
    assert figures.delays == [1.0]  # the first arrival of each (incident, level, round)


def card(incident: int, ts: str, channel: str = "CC") -> SlackCall:
    args = {"channel": channel, "text": f"[SEV3] #{incident} Down (open)"}
    return SlackCall("chat.postMessage", args, {"ok": True, "ts": ts})


def test_cards_count_per_incident_minus_the_superseded() -> None:
    calls = [
        card(1, "1.1"),
        card(1, "1.2"),
        card(2, "2.1"),
        card(2, "2.2"),
        SlackCall("chat.delete", {"channel": "CC", "ts": "2.1"}, {"ok": True}),
        SlackCall("chat.postMessage", {"channel": "DU1", "text": "[SEV3] #3 x"}, {"ts": "9"}),
    ]
    figures = card_figures(calls, "CC", [1, 2, 3])
    assert (figures.cards, figures.duplicates, figures.superseded) == (4, 1, 1)
    assert figures.lost == 1  # incident 3 only got a direct message
    assert figures.ts_of == {"1.1": 1, "1.2": 1, "2.1": 2, "2.2": 2}


def test_thread_messages_lost_repeated_and_out_of_order() -> None:
    figures = compare_thread(["a", "b", "c", "d", "b"], ["a", "c", "b", "c", "b"])
    assert figures.lost == 1  # "d"
    assert figures.duplicates == 1  # the second "c"
    assert figures.out_of_order == 1  # the first "b" came after "c"
    assert compare_thread(["a", "b"], ["a", "b"]).out_of_order == 0


def test_the_expected_thread_follows_the_chat_projection() -> None:
    events = [
        event(1, 1, EventKind.ALERT_FIRED, "before the card"),
        event(2, 1, EventKind.INCIDENT_OPENED, "opened"),
        event(3, 1, EventKind.TRIAGE_DECIDED, "debug only"),
        event(4, 1, EventKind.ALERT_FIRED, "X firing"),
        event(5, 1, EventKind.ESCALATION_NOTIFIED, "paged", targets=["user:U1"]),
    ]
    expected = expected_thread(events, "normal")
    assert [text for text, _at in expected[1]] == [
        ":rotating_light: X firing",
        ":loudspeaker: paged <@U1>",
    ]
    assert list(expected) == [1]


def test_a_step_seen_twice_for_one_service_is_one_duplicate() -> None:
    hits = [
        Arrival("/heal", {}, {"service": "a"}, 0),
        Arrival("/heal", {}, {"service": "a"}, 1),
        Arrival("/heal", {}, {"service": "b"}, 1),
        Arrival("/check", {"X-Service": "a"}, None, 2),
    ]
    assert duplicate_steps(hits) == 1


def test_thread_delay_runs_from_the_event_to_the_matched_post() -> None:
    events = [
        event(1, 1, EventKind.INCIDENT_OPENED),
        event(2, 1, EventKind.NOTE_ADDED, "note"),  # recorded at T0 + 2 s
    ]
    at = T0.timestamp()
    calls = [
        card(1, "1.1"),
        SlackCall("chat.postMessage", {"thread_ts": "1.1", "text": ":memo: note"}, {}, at + 9),
        SlackCall("chat.postMessage", {"thread_ts": "1.1", "text": ":memo: note"}, {}, at + 30),
    ]
    figures = thread_figures(events, calls, {"1.1": 1}, "normal")
    assert (figures.lost, figures.duplicates) == (0, 1)
    assert figures.delays == [7.0]
