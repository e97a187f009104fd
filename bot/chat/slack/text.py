"""Slack mrkdwn from untrusted text: one escaping function, safe links, and Slack's limits.

Everything an alert, a runbook parameter or a person wrote is data. Slack reads ``&``,
``<`` and ``>`` as markup (``<!channel>``, ``<@U1>``, ``<url|text>``), so those three are
escaped as Slack documents; Fireline's own mentions and links are added only after escaping.
Cuts happen after escaping, never inside an entity, and end in a visible ellipsis, so a
message is never refused for its size.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from bot.printable import visible

HEADER = 150
SECTION = 3000
FIELD = 2000
FIELDS = 10
CONTEXT_ELEMENTS = 10
BLOCKS = 50
MESSAGE = 40000
BUTTON = 75
ELLIPSIS = "…"

_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def escape(text: object) -> str:
    """Untrusted text as mrkdwn that shows exactly that text and is never markup."""
    return visible(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending in an ellipsis when cut, and
    never inside an entity that ``escape`` wrote."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    partial = _ENTITY_TAIL.search(head)
    if partial is not None and text.startswith(("&amp;", "&lt;", "&gt;"), partial.start()):
        head = head[: partial.start()]
    return head + ELLIPSIS


def plain(text: object, limit: int) -> str:
    """A ``plain_text`` object's text: Slack shows it as is, so only cut and unhidden."""
    return cut(visible(str(text)), limit)


def safe_url(url: str) -> str | None:
    """An ``http``/``https`` URL that cannot break out of ``<url|text>``, or None."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    quoted = quote(url.strip(), safe="!#$%&'()*+,/:;=?@[]~-._")
    return quoted.replace("&", "&amp;")


def link(url: str | None, text: str) -> str:
    """A link with escaped text, or the escaped text and URL when it is not a web URL."""
    if not url:
        return escape(text)
    safe = safe_url(url)
    if safe is None:
        return f"{escape(text)} ({escape(url)})"
    return f"<{safe}|{escape(text)}>"


def mrkdwn(text: str, limit: int = SECTION) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def within_limits(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most 50 blocks (the last, usually the buttons, kept), 10 elements a context
    and 10 fields a section."""
    if len(blocks) > BLOCKS:
        blocks = [*blocks[: BLOCKS - 1], blocks[-1]]
    out = []
    for block in blocks:
        if block.get("type") == "context" and len(block["elements"]) > CONTEXT_ELEMENTS:
            block = {**block, "elements": block["elements"][:CONTEXT_ELEMENTS]}
        if len(block.get("fields") or ()) > FIELDS:
            block = {**block, "fields": block["fields"][:FIELDS]}
        out.append(block)
    return out
