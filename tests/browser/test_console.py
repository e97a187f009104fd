"""The console's front door in a real browser: a page asks for sign-in and comes back to
where it was, an unknown token is refused on the page, and the API's docs render from
Fireline's own files (nothing fetched from the internet, nothing the CSP blocks)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.harness import DESKTOP, PHONE, screenshot
from tests.web.support import RESPONDER

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_sign_in_returns_to_the_page_and_the_docs_work_offline(
    open_context: Callable[[int], BrowserContext], width: int
) -> None:
    page = open_context(width).new_page()
    page.goto("/me")
    expect(page).to_have_url(re.compile(r"/login\?next=/me$"))
    screenshot(page, "login")

    page.locator("input[name=token]").fill("not-a-token-anyone-has")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token is not known to Fireline.")

    page.locator("input[name=token]").fill(RESPONDER)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.locator(".who")).to_contain_text("alice")
    expect(page.locator(".who .role")).to_have_text("responder")

    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Fireline")
    expect(page.locator(".opblock").first).to_be_visible()
    screenshot(page, "docs")
