"""Signing in to the console: named tokens, signed cookies, CSRF, and the headers that
keep every page to Fireline's own files."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.app.settings import Settings
from bot.web.session import COOKIE, safe_next
from tests.escalation.support import FakeClock
from tests.support import running_app
from tests.web.support import PEOPLE, RESPONDER, VIEWER, csrf_of, sign_in


def test_after_sign_in_only_paths_of_this_site_are_followed() -> None:
    assert safe_next("/incidents/4?x=1") == "/incidents/4?x=1"
    for hostile in ["//evil.example/", "/\\evil.example", "https://evil.example/", "", None]:
        assert safe_next(hostile) == "/"


async def test_a_page_sends_a_stranger_to_sign_in_and_a_token_lets_them_in(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        page = await client.get("/me?tab=1")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/me%3Ftab%3D1"

        login = await client.get("/login")
        refused = await client.post(
            "/login", data={"token": "not-a-token", "csrf": csrf_of(login.text)}
        )
        assert refused.status_code == 401
        assert "That token is not known to Fireline." in refused.text
        assert (await client.get("/me")).status_code == 303

        await sign_in(client, RESPONDER)
        me = await client.get("/me")
        assert "alice" in me.text
        assert 'class="role role-responder"' in me.text
        assert "not-a-token" not in me.text


async def test_the_session_cookie_is_signed_httponly_samesite_and_holds_no_token(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        login = await client.get("/login")
        answer = await client.post(
            "/login", data={"token": VIEWER, "csrf": csrf_of(login.text), "next": "/me"}
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert VIEWER not in cookie

        value = client.cookies[COOKIE]
        client.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert (await client.get("/me")).status_code == 303  # a forged cookie is no session


async def test_a_token_taken_out_of_the_configuration_ends_its_sessions(
    make_settings: Callable[..., Settings],
) -> None:
    secret = "a-shared-session-secret-for-replicas"
    async with running_app(make_settings(people=PEOPLE, session_secret=secret)) as (_, client):
        await sign_in(client, VIEWER)
        cookie = client.cookies[COOKIE]
    # Another process with the same secret (a restart, a replica) reads the same session.
    async with running_app(make_settings(people=PEOPLE, session_secret=secret)) as (_, client):
        client.cookies.set(COOKIE, cookie)
        assert (await client.get("/me")).status_code == 200
    without_bob = {**PEOPLE, "tokens": [t for t in PEOPLE["tokens"] if t["person"] != "bob"]}
    async with running_app(make_settings(people=without_bob, session_secret=secret)) as (_, c):
        c.cookies.set(COOKIE, cookie)
        assert (await c.get("/me")).status_code == 303


async def test_a_session_ends_after_its_lifetime(make_settings: Callable[..., Settings]) -> None:
    clock = FakeClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    settings = make_settings(people=PEOPLE, session_lifetime=timedelta(hours=12))
    async with running_app(settings, clock=clock) as (_app, client):
        await sign_in(client, VIEWER)
        clock.advance(hours=11, minutes=59)
        assert (await client.get("/me")).status_code == 200
        clock.advance(minutes=2)
        assert (await client.get("/me")).status_code == 303


async def test_every_form_post_needs_the_sessions_csrf_token(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        csrf = await sign_in(client, RESPONDER)
        for data in ({}, {"csrf": "forged"}, {"csrf": csrf + "x"}):
            refused = await client.post("/logout", data=data)
            assert refused.status_code == 403
            assert "reload the page" in refused.text
        assert (await client.get("/me")).status_code == 200  # still signed in

        # A login form posted from elsewhere (no session's token) signs nobody in.
        other = httpx.AsyncClient(transport=client._transport, base_url="http://fireline")
        async with other:
            assert (await other.post("/login", data={"token": RESPONDER})).status_code == 403

        header = await client.post("/logout", headers={"X-CSRF-Token": csrf})
        assert header.status_code == 303
        assert (await client.get("/me")).status_code == 303  # signed out


async def test_an_htmx_request_without_a_session_is_told_where_to_sign_in(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        answer = await client.get("/me", headers={"HX-Request": "true"})
        assert answer.status_code == 401
        assert answer.headers["HX-Redirect"] == "/login?next=/me"


async def test_without_tokens_the_console_is_open_as_it_is_for_the_api(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings()) as (_app, client):
        me = await client.get("/me")
        assert me.status_code == 200
        assert "console" in me.text
        assert "Sign out" not in me.text


@pytest.mark.parametrize("path", ["/login", "/docs"])
async def test_pages_load_only_fireline_s_own_files(
    make_settings: Callable[..., Settings], path: str
) -> None:
    async with running_app(make_settings(people=PEOPLE)) as (_app, client):
        page = await client.get(path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets
        for asset in assets:
            assert asset.startswith("/"), asset
            if asset.startswith("/static/"):
                assert (await client.get(asset)).status_code == 200, asset
        assert "<script>" not in page.text  # no inline script: the policy would block it
