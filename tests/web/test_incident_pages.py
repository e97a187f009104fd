"""The incidents list and the incident page through the real app, signed in as people."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bot.app.settings import Settings
from bot.events import EventKind
from tests.automation.support import events, wait_for
from tests.support import alert, payload, running_app, settle
from tests.web.support import COMMANDER, PEOPLE, RESPONDER, VIEWER, csrf_of, sign_in


async def _incident(app: FastAPI, client: httpx.AsyncClient, name: str, **labels: str) -> int:
    fingerprint = f"{abs(hash(name)) % 16**16:016x}"
    body = payload([alert(name, fingerprint=fingerprint, labels=labels)])
    assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
    await settle(app)
    with app.state.runtime.db.session() as session:
        from sqlmodel import col, select

        from storage.tables import Incident

        newest = session.exec(select(Incident.id).order_by(col(Incident.id).desc())).first()
    assert newest is not None
    return int(newest)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_list_filters_searches_and_shows_a_new_incident_live(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        await sign_in(client, VIEWER)
        empty = await client.get("/incidents")
        assert 'hx-get="/incidents/rows?after=0"' in empty.text
        nothing_yet = await client.get("/incidents/rows?after=0", headers={"HX-Request": "true"})
        assert nothing_yet.status_code == 204  # an empty list polls from the start
        disk = await _incident(app, client, "DiskFull", service="postgres")
        first = await client.get("/incidents/rows?after=0", headers={"HX-Request": "true"})
        assert f'id="incident-{disk}"' in first.text

        page = await client.get("/incidents")
        assert page.status_code == 200
        assert f'id="incident-{disk}"' in page.text
        assert 'class="status status-open"' in page.text
        assert f'hx-get="/incidents/rows?after={disk}"' in page.text
        assert f'id="incident-{disk}"' not in (await client.get("/incidents?q=latency")).text
        assert f'id="incident-{disk}"' in (await client.get("/incidents?q=postgres")).text
        assert f'id="incident-{disk}"' not in (await client.get("/incidents?status=resolved")).text
        detail = await client.get(f"/api/incidents/{disk}", headers=_bearer(VIEWER))
        day = detail.json()["opened_at"][:10]
        assert f'id="incident-{disk}"' in (await client.get(f"/incidents?from={day}&to={day}")).text
        assert f'id="incident-{disk}"' not in (await client.get("/incidents?to=2000-01-01")).text

        quiet = await client.get(f"/incidents/rows?after={disk}", headers={"HX-Request": "true"})
        assert (quiet.status_code, quiet.text) == (204, "")

        latency = await _incident(app, client, "HighLatency", service="checkout")
        fresh = await client.get(f"/incidents/rows?after={disk}", headers={"HX-Request": "true"})
        assert fresh.status_code == 200
        assert f'id="incident-{latency}"' in fresh.text
        assert f'id="incident-{disk}"' not in fresh.text
        assert f'hx-get="/incidents/rows?after={latency}"' in fresh.text
        filtered = await client.get(f"/incidents/rows?service=postgres&after={disk}")
        assert filtered.status_code == 204


async def test_alert_text_is_escaped_and_links_are_only_http(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        body = payload(
            [
                {
                    **alert(
                        "Evil", fingerprint="4444444444444444", labels={"x": "<script>1</script>"}
                    ),
                    "annotations": {
                        "summary": "<img src=x onerror=alert(1)>",
                        "runbook_url": "javascript:alert(1)",
                    },
                }
            ]
        )
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        await sign_in(client, VIEWER)
        [incident] = (await client.get("/api/incidents", headers=_bearer(VIEWER))).json()["items"]
        page = await client.get(f"/incidents/{incident['id']}")
        assert page.status_code == 200
        assert "<script>1</script>" not in page.text
        assert "&lt;script&gt;1&lt;/script&gt;" in page.text
        assert "<img src=x" not in page.text
        assert "javascript:" not in page.text
        assert 'href="http://prometheus:9090/graph?g0.expr=up"' in page.text


async def test_a_viewer_sees_no_actions_and_a_forged_post_is_refused_and_recorded(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        incident_id = await _incident(app, client, "DiskFull")
        csrf = await sign_in(client, VIEWER)
        page = await client.get(f"/incidents/{incident_id}")
        for button in ("Acknowledge", "Resolve", "Escalate", "Add note", "Change severity"):
            assert f">{button}</button>" not in page.text

        forged = await client.post(f"/incidents/{incident_id}/acknowledge", data={"csrf": csrf})
        assert forged.status_code == 403
        assert "bob is a viewer; acknowledge needs responder" in forged.text
        [refusal] = [e for e in events(app, incident_id) if e.kind == EventKind.ACCESS_REFUSED]
        assert (refusal.actor, refusal.data["action"]) == ("bob", "acknowledge")
        no_token = await client.post(f"/incidents/{incident_id}/acknowledge", data={})
        assert no_token.status_code == 403
        assert len([e for e in events(app, incident_id) if e.kind == EventKind.ACCESS_REFUSED]) == 1


def _numbers_out(text: str, incident_id: int) -> str:
    """The text with this incident's number and any follow-up's number (they count across
    incidents) replaced by "#"."""
    return re.sub(r"Follow-up #\d+", "Follow-up #", text.replace(f"incident {incident_id}", "#"))


def _trace(app: FastAPI, incident_id: int, name: str) -> list[tuple[str, str, str]]:
    """What a sequence of actions left: each event's kind, actor and text, with the
    incident's own number and alert name taken out. The scheduler's pages are left out:
    when each fires between two actions is the scheduler's timing, not the action's."""
    return [
        (e.kind, e.actor, _numbers_out(e.text.replace(name, "ALERT"), incident_id))
        for e in events(app, incident_id)
        if e.actor != "scheduler"
        and not e.kind.startswith(("alert.", "triage.", "incident.opened"))
    ]


async def test_each_action_through_the_page_does_what_the_api_does(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        by_page = await _incident(app, client, "DiskFull")
        by_api = await _incident(app, client, "HighLatency")
        await sign_in(client, COMMANDER)
        page = await client.get(f"/incidents/{by_page}")
        for button in ("Acknowledge", "Resolve", "Escalate", "Add note"):
            assert f">{button}</button>" in page.text
        csrf = csrf_of(page.text)

        steps: list[tuple[str, dict[str, Any]]] = [
            ("acknowledge", {}),
            ("unacknowledge", {}),
            ("escalate", {}),
            ("severity", {"severity": "SEV1"}),
            ("commander", {"user": "alice"}),
            ("notes", {"text": "rolled back <b>checkout</b>"}),
            ("resolve", {"reason": "rolled back"}),
        ]
        for path, form in steps:
            done = await client.post(f"/incidents/{by_page}/{path}", data={**form, "csrf": csrf})
            assert done.status_code == 303, (path, done.text)
            assert done.headers["location"] == f"/incidents/{by_page}"
            json = {"user": "alice"} if path == "commander" else form
            api = await client.post(
                f"/api/incidents/{by_api}/{path}", json=json, headers=_bearer(COMMANDER)
            )
            assert api.status_code in (200, 201), (path, api.text)

        page_view = (
            await client.get(f"/api/incidents/{by_page}", headers=_bearer(COMMANDER))
        ).json()
        api_view = (await client.get(f"/api/incidents/{by_api}", headers=_bearer(COMMANDER))).json()
        for key in ("status", "severity", "commander", "acknowledged_by", "resolved_by"):
            assert page_view[key] == api_view[key], key
        assert (page_view["status"], page_view["commander"]) == ("resolved", "alice")

        # Resolving adds the post-mortem's follow-ups after the answer; wait for both.
        def followed_up() -> bool:
            return all(
                EventKind.FOLLOWUP_ADDED in [e.kind for e in events(app, i)]
                for i in (by_page, by_api)
            )

        await wait_for(followed_up, what="the follow-ups resolving adds")
        assert _trace(app, by_page, "DiskFull") == _trace(app, by_api, "HighLatency")

        shown = await client.get(f"/incidents/{by_page}")
        assert 'class="status status-resolved"' in shown.text
        live = await client.get(f"/incidents/{by_page}/live", headers={"HX-Request": "true"})
        assert live.text.lstrip().startswith('<div id="live"')
        assert 'class="status status-resolved"' in live.text
        assert "<html" not in live.text
        assert "rolled back &lt;b&gt;checkout&lt;/b&gt;" in shown.text
        again = await client.post(f"/incidents/{by_page}/acknowledge", data={"csrf": csrf})
        assert again.status_code == 409
        assert "the incident is resolved; there is nothing to acknowledge" in again.text


async def test_a_long_timeline_shows_the_newest_page_and_older_ones_by_cursor(
    make_settings: Callable[..., Settings],
) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from storage.tables import TimelineEvent

    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        incident_id = await _incident(app, client, "DiskFull")
        first = events(app, incident_id)[-1].at
        rows = [
            {
                "incident_id": incident_id,
                "kind": EventKind.NOTE_ADDED,
                "actor": "alice",
                "text": f"note {n:04d}",
                "at": first + timedelta(seconds=n + 1),
                "recorded_at": first,
                "data": {},
            }
            for n in range(450)
        ]
        with app.state.runtime.db.write() as session:
            session.execute(insert(TimelineEvent), rows)
        await sign_in(client, VIEWER)

        page = await client.get(f"/incidents/{incident_id}")
        assert page.text.count('class="event ') == 200
        assert "note 0449" in page.text
        assert "note 0250" in page.text
        assert "note 0249" not in page.text
        older_link = page.text.split('id="timeline-older"', 1)[1].split('hx-get="', 1)[1]
        older_url = older_link.split('"', 1)[0].replace("&amp;", "&")
        older = await client.get(older_url, headers={"HX-Request": "true"})
        assert older.text.count('class="event ') == 200
        assert "note 0249" in older.text
        assert "note 0050" in older.text
        assert 'id="timeline-older"' in older.text

        newest = page.text.split('id="timeline-live"', 1)[1].split("after=", 1)[1].split('"', 1)[0]
        quiet = await client.get(f"/incidents/{incident_id}/timeline?after={newest}")
        assert quiet.status_code == 204
        with app.state.runtime.db.write() as session:
            session.execute(insert(TimelineEvent), [{**rows[0], "text": "just now"}])
        fresh = await client.get(f"/incidents/{incident_id}/timeline?after={newest}")
        assert fresh.status_code == 200
        assert fresh.text.count('class="event ') == 1
        assert "just now" in fresh.text
        assert 'id="timeline-live"' in fresh.text
        assert fresh.headers["HX-Trigger"] == "incident-changed"


async def test_a_step_awaiting_approval_is_approved_from_the_page(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from bot.app.demo.run import demo_service
    from tests.automation.support import kinds, post_alert, wait_for, web_down, write_runbook

    runbook = write_runbook(tmp_path / "runbooks", mode="approve")
    runbook.write_text(runbook.read_text().replace('["U-LEAD"]', '["UALICE"]'))
    settings = make_settings(
        people=PEOPLE,
        api_token="shared-admin-token",
        runbook_dirs=[tmp_path / "runbooks"],
        http_allow=["127.0.0.0/8"],
    )
    with demo_service() as (url, demo):
        async with running_app(settings) as (app, client):
            promoted = await client.post(
                "/api/runbooks/web-heal/promote", json={}, headers=_bearer("shared-admin-token")
            )
            assert promoted.status_code == 200, promoted.text
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(lambda: "step.awaiting_approval" in kinds(app, 1), what="the request")

            await sign_in(client, RESPONDER)
            page = await client.get("/incidents/1")
            assert page.status_code == 200
            assert "awaiting_approval" in page.text
            assert ">Approve</button>" in page.text
            assert ">Reject</button>" in page.text
            csrf = csrf_of(page.text)
            action = page.text.split('action="/incidents/1/steps/', 1)[1].split('"', 1)[0]
            args_hash = page.text.split('name="args_hash" value="', 1)[1].split('"', 1)[0]
            done = await client.post(
                f"/incidents/1/steps/{action}", data={"csrf": csrf, "args_hash": args_hash}
            )
            assert done.status_code == 303, done.text
            await wait_for(lambda: demo.heals == 1, what="the approved heal")
            approved = next(e for e in events(app, 1) if e.kind == "step.approved")
            assert approved.actor == "alice"


async def test_a_commander_posts_a_public_update_from_the_incident_page(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        incident = await _incident(app, client, "CheckoutSlow", service="shop")
        responder = await sign_in(client, RESPONDER)
        page = await client.get(f"/incidents/{incident}")
        assert "Post update" not in page.text  # a responder does not write to customers
        refused = await client.post(
            f"/incidents/{incident}/status",
            data={"csrf": responder, "phase": "investigating", "text": "Looking"},
        )
        assert refused.status_code == 403
        await client.post("/logout", data={"csrf": responder})

        commander = await sign_in(client, COMMANDER)
        page = await client.get(f"/incidents/{incident}")
        assert "Post update" in page.text
        posted = await client.post(
            f"/incidents/{incident}/status",
            data={"csrf": commander, "phase": "identified", "text": "Checkout is <b>slow</b>"},
        )
        assert posted.status_code == 303
        updates = (await client.get("/api/status/updates", headers=_bearer(COMMANDER))).json()
        assert [(u["phase"], u["text"], u["author"]) for u in updates] == [
            ("identified", "Checkout is <b>slow</b>", "carol")
        ]
        public = await client.get("/status")
        assert "Checkout is &lt;b&gt;slow&lt;/b&gt;" in public.text
        kinds = [event.kind for event in events(app, incident)]
        assert EventKind.STATUS_UPDATE_POSTED.value in kinds
