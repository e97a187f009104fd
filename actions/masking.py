"""Secret values never leave an action: every output is scrubbed before it is stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"


def mask_text(text: str, secrets: Iterable[str]) -> str:
    # Longest first, so a secret that contains another is replaced whole.
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def mask_value(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, lists, mappings) with every secret value replaced by ``***``."""
    secrets = list(secrets)
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v, secrets) for v in value]
    return value


def cap_output(data: bytes | str, limit: int) -> str:
    """At most ``limit`` bytes of output, decoded, with a note when some was dropped."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) <= limit:
        return raw.decode(errors="replace")
    dropped = len(raw) - limit
    return raw[:limit].decode(errors="replace") + f"\n[... {dropped} more bytes not kept]"
