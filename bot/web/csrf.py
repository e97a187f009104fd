"""Every state-changing console request carries the session's CSRF token.

The token rides in the form (``<input name="csrf">``) or, for htmx requests, in the
``X-CSRF-Token`` header the base template sets. SameSite=Lax cookies already keep other
sites' forms from carrying the session; the token also covers same-site attackers and
old browsers.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from bot.web.session import session_of

HEADER = "x-csrf-token"
FIELD = "csrf"


class CsrfRefused(Exception):
    """The request's CSRF token is missing or not the session's: answered 403."""


async def check_csrf(request: Request) -> None:
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(FIELD)
        given = value if isinstance(value, str) else None
    expected = session_of(request).csrf
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused


CsrfChecked = Annotated[None, Depends(check_csrf)]
