"""People with contact methods, and the config file that declares them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

ALICE = "token-of-alice"  # a responder
BOB = "token-of-bob"  # a viewer
ADMIN = "token-of-ada"


def token(secret: str, person: str, role: str) -> dict[str, str]:
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return {"name": f"{person}-token", "sha256": digest, "person": person, "role": role}


def write_config(
    path: Path, *, methods: list[dict[str, Any]], rules: dict[str, Any] | None = None
) -> Path:
    """alice is paged at once by the one policy; her methods and rules as given."""
    alice: dict[str, Any] = {
        "id": "alice",
        "email": "alice@example.com",
        "phone": "+4915112345678",
        "role": "responder",
        "contact_methods": methods,
    }
    if rules is not None:
        alice["notification_rules"] = rules
    config = {
        "people": {
            "directory": [
                alice,
                {"id": "bob", "role": "viewer"},
                {"id": "ada", "role": "admin"},
            ],
            "tokens": [
                token(ALICE, "alice", "responder"),
                token(BOB, "bob", "viewer"),
                token(ADMIN, "ada", "admin"),
            ],
        },
        "escalation": {
            "tick": "100ms",
            "policies": [
                {"name": "default", "levels": [{"targets": [{"person": "alice"}], "delay": "1h"}]}
            ],
        },
    }
    path.write_text(yaml.safe_dump(config))
    return path


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
