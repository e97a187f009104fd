"""Bearer-token checks, in constant time."""

from __future__ import annotations

import hmac

from pydantic import SecretStr


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
