"""The post-mortem page through the real app, signed in: the draft as HTML with alert text
kept as text, a section saved through its form with its author, a viewer refused, the
Markdown export."""

from __future__ import annotations

from collections.abc import Callable

from bot.app.settings import Settings
from tests.support import alert, payload, running_app, settle
from tests.web.support import PEOPLE, RESPONDER, VIEWER, csrf_of, sign_in


async def test_a_section_is_edited_on_the_page(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (app, client):
        hostile = alert(
            "DiskFull",
            fingerprint="3333333333333333",
            labels={"severity": "warning"},
            annotations={"summary": "<script>alert(1)</script> disk full"},
        )
        assert (
            await client.post("/webhooks/alertmanager", json=payload([hostile]))
        ).status_code == 200
        await settle(app)
        bearer = {"authorization": f"Bearer {VIEWER}"}
        [listed] = (await client.get("/api/incidents", headers=bearer)).json()["items"]
        incident_id = listed["id"]
        page_url = f"/incidents/{incident_id}/postmortem"

        await sign_in(client, RESPONDER)
        page = await client.get(page_url)
        assert page.status_code == 200, page.text
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<h2>Root cause</h2>" in page.text
        saved = await client.post(
            f"{page_url}/sections/root_cause",
            data={"csrf": csrf_of(page.text), "text": "Logs <b>filled</b> the disk"},
        )
        assert saved.status_code == 303
        page = await client.get(page_url)
        assert "Root cause saved" in page.text
        assert "Written by alice" in page.text
        assert "Logs &lt;b&gt;filled&lt;/b&gt; the disk" in page.text
        no_csrf = await client.post(f"{page_url}/sections/lessons", data={"text": "x"})
        assert no_csrf.status_code == 403

        exported = await client.get(f"/incidents/{incident_id}/postmortem.md")
        assert exported.headers["content-type"] == "text/markdown; charset=utf-8"
        assert "Logs \\<b\\>filled\\</b\\> the disk" in exported.text
        assert "*Written by alice," in exported.text

        await client.post("/logout", data={"csrf": csrf_of(page.text)})
        await sign_in(client, VIEWER)
        page = await client.get(page_url)
        assert 'name="text"' not in page.text
        refused = await client.post(
            f"{page_url}/sections/lessons", data={"csrf": csrf_of(page.text), "text": "x"}
        )
        assert refused.status_code == 303
        page = await client.get(page_url)
        assert "bob is a viewer; edit_postmortem needs responder" in page.text
