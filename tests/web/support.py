"""Console tests: people with named tokens, and a client signed in as one of them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx

RESPONDER = "token-of-alice"
VIEWER = "token-of-bob"
COMMANDER = "token-of-carol"

PEOPLE: dict[str, Any] = {
    "directory": [
        {"id": "alice", "name": "Alice", "slack": "UALICE"},
        {"id": "bob", "name": "Bob", "slack": "UBOB"},
        {"id": "carol", "name": "Carol", "slack": "UCAROL"},
    ],
    "tokens": [
        {
            "name": f"{person}-browser",
            "sha256": hashlib.sha256(token.encode()).hexdigest(),
            "person": person,
            "role": role,
        }
        for token, person, role in [
            (RESPONDER, "alice", "responder"),
            (VIEWER, "bob", "viewer"),
            (COMMANDER, "carol", "commander"),
        ]
    ],
}

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a console page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign ``client`` in through the login form, as a browser does; returns the session's
    CSRF token for the forms that follow."""
    login = await client.get("/login")
    assert login.status_code == 200, login.text
    answer = await client.post(
        "/login", data={"token": token, "csrf": csrf_of(login.text), "next": "/me"}
    )
    assert answer.status_code == 303, answer.text
    me = await client.get("/me")
    assert me.status_code == 200
    return csrf_of(me.text)
