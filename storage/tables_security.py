"""What request verification remembers: Slack signatures already seen.

Slack signs each request with its timestamp, and a signed request stays valid for five
minutes; kept here (not in memory) so that a request replayed to another replica is
refused too.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class SlackRequestSeen(SQLModel, table=True):
    __tablename__ = "slack_request_seen"

    signature: str = Field(primary_key=True, max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)  # its timestamp + the window


class ActionLinkUse(SQLModel, table=True):
    """An acknowledge or resolve link that was used: its nonce, written in the transaction
    that did its action, so a link works once whoever replays it."""

    __tablename__ = "action_link_use"

    nonce: str = Field(primary_key=True, max_length=64)
    incident_id: int = Field(index=True)
    person: str = Field(max_length=100)
    action: str = Field(max_length=20)
    used_at: datetime = Field(sa_type=UTCDateTime)
