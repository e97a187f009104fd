"""On-call shifts as an iCalendar feed (RFC 5545), written by hand.

The feed needs one VCALENDAR of VEVENTs with UTC times, so the few rules that matter are
kept here in plain sight: CRLF line ends, lines folded at 75 octets (never inside a UTF-8
character), TEXT values escaped, a UID per shift that stays the same while the shift
does (schedule, person and start), and DTSTAMP (when the feed was written).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.escalation.schedules import Shift

PRODID = "-//Fireline//On-call//EN"
LINE_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma escaped; line breaks as ``\\n``."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """One content line folded into pieces of at most 75 octets, joined by CRLF + space."""
    pieces: list[str] = []
    current = ""
    limit = LINE_OCTETS
    for char in line:
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = ""
            limit = LINE_OCTETS - 1  # the leading space of a continuation counts
        current += char
    pieces.append(current)
    return "\r\n ".join(pieces)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _uid_part(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):x}" for c in value)


def shift_uid(shift: Shift, user: str) -> str:
    """Stable while the shift is: the same schedule, person and start give the same UID."""
    return f"{_uid_part(shift.schedule)}-{_uid_part(user)}-{_stamp(shift.start)}@fireline"


def render_calendar(name: str, shifts: Sequence[Shift], *, now: datetime) -> str:
    """The feed: one VEVENT per shift that has someone on call."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for shift in shifts:
        if shift.user is None:
            continue
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift_uid(shift, shift.user)}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(shift.start)}",
            f"DTEND:{_stamp(shift.end)}",
            f"SUMMARY:{escape_text(f'On call: {shift.user} ({shift.schedule})')}",
            f"DESCRIPTION:{escape_text(f'{shift.schedule}, {shift.source}')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{fold(line)}\r\n" for line in lines)
