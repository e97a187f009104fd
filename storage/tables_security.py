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
