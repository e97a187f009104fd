"""Who is signed in to the console: a signed, HttpOnly, SameSite cookie.

The cookie holds the SHA-256 of the token the person signed in with (never the token),
the session's CSRF token and at most one flash message. The identity is looked up in the
people directory on every request, so a token removed from the configuration, or a role
changed, takes effect at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any, Protocol
from urllib.parse import quote

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.clock import Clock, utcnow
from bot.people.directory import Directory
from bot.people.model import Identity, Role

COOKIE = "fireline_session"

OPEN_CONSOLE = Identity("console", Role.ADMIN, "local", frozenset({"console"}))
"""Who uses the console when no token is configured (loopback only, as for the API)."""


@dataclass(frozen=True)
class Session:
    csrf: str
    digest: str | None = None
    flash: str | None = None

    @classmethod
    def new(cls, digest: str | None = None) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), digest=digest)


class Sessions:
    """Signs and reads session cookies. Without a configured secret the key is random,
    so sessions last as long as the process."""

    def __init__(
        self,
        secret: str | None,
        *,
        lifetime: timedelta,
        secure: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        class Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._signer = URLSafeTimedSerializer(
            secret or secrets.token_urlsafe(32), salt="fireline.console.session", signer=Signer
        )
        self.lifetime = lifetime
        self.secure = secure

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._signer.loads(raw, max_age=int(self.lifetime.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        digest, flash = data.get("d"), data.get("f")
        return Session(
            csrf=data["c"],
            digest=digest if isinstance(digest, str) else None,
            flash=flash if isinstance(flash, str) else None,
        )

    def write(self, request: Request, response: Response, session: Session) -> None:
        data: dict[str, Any] = {"c": session.csrf}
        if session.digest is not None:
            data["d"] = session.digest
        if session.flash is not None:
            data["f"] = session.flash
        response.set_cookie(
            COOKIE,
            self._signer.dumps(data),
            max_age=int(self.lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.secure or request.url.scheme == "https",
            path="/",
        )


class WebRuntime(Protocol):
    """What the console's pages need of the running service."""

    @property
    def people(self) -> Directory: ...

    @property
    def sessions(self) -> Sessions: ...


def session_of(request: Request) -> Session:
    """This request's session; a new one (written with the response by ``pages``) when
    the browser brought none."""
    cached = getattr(request.state, "session", None)
    if isinstance(cached, Session):
        return cached
    runtime: WebRuntime = request.app.state.runtime
    session = runtime.sessions.read(request)
    if session is None:
        session = Session.new()
        request.state.session_changed = True
    request.state.session = session
    return session


def change_session(request: Request, session: Session) -> None:
    """Replace this request's session; the response carries the new cookie."""
    request.state.session = session
    request.state.session_changed = True


def flash(request: Request, message: str) -> None:
    """Show ``message`` once, on the next page this browser renders."""
    change_session(request, replace(session_of(request), flash=message))


def identity_of(request: Request) -> Identity | None:
    """Who this request's session belongs to, or None when nobody is signed in."""
    runtime: WebRuntime = request.app.state.runtime
    if runtime.people.is_open:
        return OPEN_CONSOLE
    session = session_of(request)
    if session.digest is None:
        return None
    return runtime.people.identity_from_digest(session.digest)


class SignInNeeded(Exception):
    """Raised by ``signed_in``; the app answers a page with a redirect to /login, and an
    htmx request or a form post with 401 (htmx follows ``HX-Redirect``)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.login_url = "/login?next=" + quote(path, safe="/")


async def signed_in(request: Request) -> Identity:
    identity = identity_of(request)
    if identity is None:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        raise SignInNeeded(target)
    request.state.identity = identity
    return identity


SignedIn = Annotated[Identity, Depends(signed_in)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
