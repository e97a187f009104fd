"""Debian's chromium driven by Playwright, kept on loopback, and what a test checks of it.

Playwright's own browser downloads are never used: the tests launch the distribution's
package, with the flags that stop it calling home (updates, sync, field trials), and every
request a page makes is checked to stay on this machine.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, Route, expect

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
DESKTOP = 1280
PHONE = 390
HEIGHTS = {DESKTOP: 800, PHONE: 844}
LOAD_FAILED = "Failed to load resource"
WAIT_MS = 15_000  # generous: the machines that run CI are shared and slow at times

expect.set_options(timeout=WAIT_MS)


def chromium_or_skip() -> str:
    """The chromium binary; its absence fails the run in CI and skips it elsewhere."""
    found = shutil.which(CHROMIUM)
    if found is None:
        message = f"{CHROMIUM} is not installed (Debian package chromium)"
        if IN_CI:
            pytest.fail(message + "; the browser tests must run in CI")
        pytest.skip(message)
    return found


def is_loopback(url: str) -> bool:
    """True for the schemes a page may use without the network, or a loopback host."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOOPBACK


@dataclass
class Guard:
    """What went wrong in a context's pages: console errors (CSP violations among them),
    uncaught exceptions, and requests that would have left loopback (aborted).

    A page answered with an error status on purpose (a refused sign-in is a 401) makes
    chromium log "Failed to load resource" for the document itself; the test checks what
    that page says, so only subresources failing to load count as errors here.
    """

    errors: list[str] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)

    def attach(self, context: BrowserContext) -> None:
        context.route("**/*", self._route)
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._page_error)

    def check(self) -> None:
        assert self.escaped == [], f"requests that would have left loopback: {self.escaped}"
        assert self.errors == [], f"errors in the browser console: {self.errors}"

    def _route(self, route: Route) -> None:
        url = route.request.url
        if route.request.resource_type == "document":
            self.documents.add(url)
        if is_loopback(url):
            route.continue_()
            return
        self.escaped.append(url)
        route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith(LOAD_FAILED) and where in self.documents:
            return
        self.errors.append(f"{message.text} ({where})")

    def _page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error.message}")


WIDER_THAN_PAGE = """width => {
  if (document.scrollingElement.scrollWidth <= width) { return []; }
  const out = el => el.getBoundingClientRect().right > width + 1;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const culprits = Array.from(document.querySelectorAll("body *")).filter(el =>
    (out(el) && !(el.parentElement && out(el.parentElement)))
    || (el.children.length === 0
      && el.getBoundingClientRect().left + el.scrollWidth > width + 1));
  return culprits.length ? culprits.slice(0, 5).map(name) : ["the page"];
}"""


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``tests/.artifacts/<name>-<width>.png`` for CI to keep,
    after checking it fits its width: at 390 px a page scrolls down, never sideways (a
    wide table scrolls inside its own box)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    wider = page.evaluate(WIDER_THAN_PAGE, width)
    assert wider == [], f"{name} at {width} px is wider than the screen: {wider}"
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(context: BrowserContext, token: str, *, at: str = "/incidents") -> Page:
    """A new page in ``context``, signed in through the login form, left at ``at``."""
    page = context.new_page()
    page.goto(f"/login?next={at}")
    page.locator("input[name=token]").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(at) + "$"))
    return page
