"""Credential checks, in constant time: bearer tokens and Slack request signatures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

SLACK_WINDOW = timedelta(minutes=5)
"""How far a Slack request's timestamp may be from now (Slack's own rule)."""


def bearer_matches(header: str | None, expected: SecretStr | None) -> bool:
    """True when no token is configured, or the Authorization header carries it."""
    if expected is None:
        return True
    if not header:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode())


def slack_timestamp(header: str | None) -> datetime | None:
    """The time in an ``X-Slack-Request-Timestamp`` header; None unless it is plain digits."""
    if not header or len(header) > 12 or not header.isascii() or not header.isdigit():
        return None
    return datetime.fromtimestamp(int(header), UTC)


def slack_signature_valid(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: datetime
) -> bool:
    """Whether Slack signed ``body`` at ``timestamp``, within the window of ``now``.

    A malformed timestamp or signature is simply not valid (never an exception).
    """
    if timestamp is None or signature is None:
        return False
    stamp = slack_timestamp(timestamp)
    if stamp is None or abs(now - stamp) > SLACK_WINDOW:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def feed_key(secret: SecretStr, path: str) -> str:
    """The key a calendar feed's URL carries: an HMAC of its path, since a calendar app
    cannot send a bearer header. Changing the secret revokes every feed URL given out."""
    digest = hmac.new(secret.get_secret_value().encode(), path.encode(), hashlib.sha256)
    return digest.hexdigest()


def feed_key_valid(secret: SecretStr, path: str, key: str | None) -> bool:
    if not key:
        return False
    return hmac.compare_digest(feed_key(secret, path).encode(), key.encode())
