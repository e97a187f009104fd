"""Replies to a page by SMS: "ack", "ack 42", "resolve 42". Pure: the text in, what it asks
for out; and Twilio's request signature, which is how a reply proves where it came from."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.people.links import LinkAction

_REPLY = re.compile(r"^\s*(ack|acknowledge|resolve)\s*#?(\d{1,10})?\s*[.!]*\s*$", re.IGNORECASE)

HELP = 'Reply "ack" to acknowledge your latest page, "ack 42" or "resolve 42" for incident 42.'


@dataclass(frozen=True)
class Reply:
    action: LinkAction
    incident_id: int | None  # None: the latest incident that paged the sender


def parse_reply(text: str) -> Reply | None:
    found = _REPLY.match(text)
    if found is None:
        return None
    verb, number = found.group(1).lower(), found.group(2)
    action = LinkAction.RESOLVE if verb == "resolve" else LinkAction.ACKNOWLEDGE
    return Reply(action, int(number) if number else None)


def normalise_phone(number: str) -> str:
    """E.164 digits with their plus: "+49 151 1234-5678" -> "+4915112345678"."""
    digits = re.sub(r"\D", "", number)
    return f"+{digits}" if digits else ""


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each POST
    parameter's name and value, sorted by name."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    return hmac.compare_digest(twilio_signature(auth_token, url, params), given)
