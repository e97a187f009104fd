"""Fixtures of the browser tests: one chromium for the session, a served Fireline per test,
a browser context per person and width whose guard is checked when the test ends."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bot.app.demo.run import demo_service
from bot.app.demo.target import DemoState
from bot.app.main import create_app
from bot.app.settings import Settings
from tests.automation.support import write_runbook
from tests.browser.harness import CHROMIUM_FLAGS, HEIGHTS, WAIT_MS, Guard, chromium_or_skip
from tests.support import Served
from tests.web.support import PEOPLE

WEBHOOK = "token-of-alertmanager"
ADMIN = "token-of-the-admin"  # the shared FIRELINE_API_TOKEN: promotes runbooks


@dataclass
class Console:
    """A running Fireline, the loopback service its runbook heals, and a way in for alerts."""

    base_url: str
    served: Served
    heal_url: str
    healed: DemoState

    def post_alert(self, body: dict[str, Any]) -> None:
        """Deliver a webhook as Alertmanager does: a bearer token and the JSON body."""
        response = httpx.post(
            f"{self.base_url}/webhooks/alertmanager",
            json=body,
            headers={"authorization": f"Bearer {WEBHOOK}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    def promote(self, runbook: str) -> None:
        """Promote ``runbook`` as an admin does, so its mutating steps may run."""
        response = httpx.post(
            f"{self.base_url}/api/runbooks/{runbook}/promote",
            json={"by": "admin"},
            headers={"authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One chromium per module: Playwright's sync API runs an event loop on the main
    thread while it is open, so it must be closed before the asyncio tests that follow."""
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def console_settings() -> dict[str, Any]:
    """More settings for the console under test; a test module overrides this fixture."""
    return {}


@pytest.fixture
def console(
    tmp_path: Path, sqlite_template: Path, console_settings: dict[str, Any]
) -> Iterator[Console]:
    """Fireline under uvicorn on a loopback port with its workers, a fresh SQLite file,
    named tokens for a responder (who may approve the runbook's step) and a viewer."""
    database = tmp_path / "fireline.db"
    shutil.copy(sqlite_template, database)
    runbooks = tmp_path / "runbooks"
    write_runbook(runbooks, mode="approve", approvers=("alice",))
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "migrate_on_start": False,
        "webhook_token": WEBHOOK,
        "api_token": ADMIN,
        "people": PEOPLE,
        "runbook_dirs": [runbooks],
        "http_allow": ["127.0.0.0/8"],
        "automation_tick": "100ms",
        **console_settings,
    }
    settings = Settings(**values)
    with demo_service() as (service_url, state), Served(create_app(settings)) as served:
        yield Console(
            base_url=served.base_url,
            served=served,
            heal_url=f"{service_url}/heal",
            healed=state,
        )


@pytest.fixture
def open_context(chromium: Browser, console: Console) -> Iterator[Callable[[int], BrowserContext]]:
    """``open_context(width)``: a fresh context (its own cookies) on the console, guarded:
    the test fails if a page in it logs an error or tries to leave loopback."""
    opened: list[tuple[BrowserContext, Guard]] = []

    def open_one(width: int) -> BrowserContext:
        context = chromium.new_context(
            base_url=console.base_url,
            viewport={"width": width, "height": HEIGHTS.get(width, 800)},
        )
        context.set_default_timeout(WAIT_MS)
        guard = Guard()
        guard.attach(context)
        opened.append((context, guard))
        return context

    yield open_one
    for context, _ in opened:
        context.close()
    for _, guard in opened:
        guard.check()
