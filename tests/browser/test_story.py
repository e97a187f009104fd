"""The console in a real browser, the whole story at desktop width and at 390 px: an
alert arrives and shows in the open list without a reload, a responder acknowledges it,
approves the runbook's step and resolves it, edits the post-mortem, and the public status
page follows; a viewer sees the same incident without a single action button."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.automation.support import web_down
from tests.browser.conftest import Console
from tests.browser.harness import DESKTOP, PHONE, screenshot, sign_in
from tests.support import wait_until
from tests.web.support import RESPONDER, VIEWER

pytestmark = pytest.mark.browser

COMPONENT = "Web shop"
ACTIONS = ("Acknowledge", "Resolve", "Escalate", "Approve", "Reject", "Add note")
ROOT_CAUSE = "The web tier's pool ran dry after a deploy <b>doubled</b> its workers."


def status_badge(page: Page, status: str) -> None:
    expect(page.locator(".status").first).to_have_class(re.compile(rf"\bstatus-{status}\b"))


@pytest.fixture
def console_settings() -> dict[str, Any]:
    """A status page component for the alert's service."""
    return {"status": {"components": [{"name": COMPONENT, "services": ["web"]}]}}


def component(page: Page, state: str) -> None:
    page.goto("/status")
    shown = page.locator(".component").filter(has=page.get_by_role("heading", name=COMPONENT))
    expect(shown).to_have_attribute("data-state", state)


def reloads(page: Page) -> list[str]:
    """Every navigation of the page's main frame from now on."""
    seen: list[str] = []
    page.on(
        "framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None
    )
    return seen


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_incident_from_alert_to_post_mortem(
    console: Console, open_context: Callable[[int], BrowserContext], width: int
) -> None:
    responder = sign_in(open_context(width), RESPONDER)
    responder.goto("/incidents")
    screenshot(responder, "incidents-empty")
    navigations = reloads(responder)

    console.promote("web-heal")  # its mode is approve: the heal waits for the responder
    console.post_alert(web_down(console.heal_url, service="web", severity="error"))
    row = responder.locator("#incident-1")
    expect(row).to_be_visible()
    assert navigations == [], f"the list reloaded to show the incident: {navigations}"
    screenshot(responder, "incidents")

    viewer = sign_in(open_context(width), VIEWER)
    viewer.goto("/incidents/1")
    status_badge(viewer, "open")
    for action in ACTIONS:
        expect(viewer.get_by_role("button", name=action)).to_have_count(0)
    screenshot(viewer, "incident-viewer")

    public = open_context(width).new_page()
    component(public, "degraded")
    screenshot(public, "status-degraded")

    row.get_by_role("link").first.click()
    expect(responder).to_have_url(re.compile(r"/incidents/1$"))
    status_badge(responder, "open")
    timeline = responder.locator("#timeline")
    expect(timeline).to_be_visible()

    expect(timeline).to_contain_text("step.awaiting_approval")
    responder.get_by_role("button", name="Acknowledge").click()
    status_badge(responder, "acknowledged")
    expect(timeline).to_contain_text("Acknowledged by alice")

    responder.get_by_role("button", name="Approve").click()
    expect(timeline).to_contain_text("Step heal approved by alice")
    wait_until(lambda: console.healed.heals == 1, within=15, what="the approved heal to run")
    screenshot(responder, "incident")

    responder.get_by_role("button", name="Resolve").click()
    status_badge(responder, "resolved")
    expect(timeline).to_contain_text("Resolved by alice")

    component(public, "operational")
    screenshot(public, "status")

    responder.goto("/incidents/1/postmortem")
    draft = responder.get_by_role("heading", name="Post-mortem: #1 web is down")
    expect(draft).to_be_visible()
    root_cause = responder.locator("#section-root_cause")
    root_cause.locator("textarea[name=text]").fill(ROOT_CAUSE)
    root_cause.get_by_role("button", name="Save").click()
    expect(root_cause.locator(".meta")).to_contain_text("Written by alice")
    responder.reload()
    expect(root_cause.locator("textarea[name=text]")).to_have_value(ROOT_CAUSE)
    expect(responder.get_by_text("pool ran dry after a deploy").first).to_be_visible()
    expect(responder.locator("b", has_text="doubled")).to_have_count(0)
    screenshot(responder, "postmortem")

    with responder.expect_download() as download:
        responder.get_by_role("link", name="Export as Markdown").click()
    exported = Path(download.value.path()).read_text()
    assert exported.startswith("# Post-mortem: #1 web is down")
    assert "pool ran dry after a deploy" in exported
    assert "<b>" not in exported  # a person's text is data in the export too
