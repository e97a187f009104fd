"""The guard the story relies on catches what it claims to: a request off loopback is
aborted and reported, a console error is reported, and a quiet loopback page passes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import Console
from tests.browser.harness import Guard, is_loopback, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/incidents", True),
        ("http://localhost/static/console.css", True),
        ("http://[::1]:9000/", True),
        ("data:image/png;base64,AAAA", True),
        ("about:blank", True),
        ("https://cdn.jsdelivr.net/npm/swagger-ui-dist/swagger-ui.css", False),
        ("http://127.0.0.1.example.com/", False),
        ("http://10.0.0.1/", False),
    ],
)
def test_only_loopback_counts_as_local(url: str, local: bool) -> None:
    assert is_loopback(url) is local


def test_the_guard_aborts_and_reports_a_request_off_loopback(chromium: Browser) -> None:
    context = chromium.new_context()
    guard = Guard()
    guard.attach(context)
    page = context.new_page()
    page.goto("data:text/html,<p>page</p>")
    status = page.evaluate(
        "fetch('http://fireline-test.invalid/x').then(r => r.status, e => 'blocked')"
    )
    context.close()
    assert status == "blocked"
    assert guard.escaped == ["http://fireline-test.invalid/x"]
    with pytest.raises(AssertionError, match="left loopback"):
        guard.check()


def test_the_guard_reports_console_errors_and_passes_a_quiet_page(chromium: Browser) -> None:
    context = chromium.new_context()
    guard = Guard()
    guard.attach(context)
    page = context.new_page()
    page.goto("data:text/html,<p>quiet</p>")
    guard.check()
    with page.expect_console_message():
        page.evaluate("console.error('the step failed to render')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('boom') }, 0)")
    context.close()
    assert guard.errors[0].startswith("the step failed to render")
    assert guard.errors[1] == "uncaught: boom"
    with pytest.raises(AssertionError, match="errors in the browser console"):
        guard.check()


def test_a_page_answered_with_an_error_is_not_a_console_error_but_a_missing_file_is(
    console: Console, chromium: Browser
) -> None:
    context = chromium.new_context(base_url=console.base_url)
    guard = Guard()
    guard.attach(context)
    page = context.new_page()
    assert page.goto("/no-such-page") is not None
    guard.check()
    with page.expect_console_message():
        page.set_content(f'<img src="{console.base_url}/static/no-such-file.png">')
    context.close()
    assert len(guard.errors) == 1
    assert "/static/no-such-file.png" in guard.errors[0]


def test_a_page_wider_than_the_screen_is_refused_before_its_screenshot(chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_content('<p id="fits">fits</p><pre id="wide">' + "x" * 400 + "</pre>")
    with pytest.raises(AssertionError, match=r"wider than the screen: \['pre#wide'\]"):
        screenshot(page, "harness-too-wide")
    page.set_content('<p id="fits">fits</p>')
    assert screenshot(page, "harness-fits").name == "harness-fits-390.png"
    context.close()
