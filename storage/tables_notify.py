"""People's contact methods as the service knows them: those of the config file and those
added through the API or the CLI, each with the outcome of its verification message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class MethodStatus(StrEnum):
    PENDING = "pending"  # the verification message has not gone out yet
    VERIFIED = "verified"  # the verification message was delivered
    FAILED = "failed"  # the verification message could not be delivered (``error``)


class ContactMethod(SQLModel, table=True):
    __tablename__ = "contact_method"
    __table_args__ = (UniqueConstraint("person", "name", name="uq_contact_method_person_name"),)

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=100, index=True)
    name: str = Field(max_length=50)
    kind: str = Field(max_length=20)  # bot.people.contacts.MethodKind
    address: str = Field(max_length=500)
    source: str = Field(default="api", max_length=10)  # config | api
    status: str = Field(default=MethodStatus.PENDING, max_length=10)
    error: str | None = Field(default=None, sa_type=Text)
    # A method added through the API carries its own rule: reach it this long after a
    # page, for these urgencies (high | low | both). Config methods follow the config's rules.
    after_seconds: int = 0
    urgency: str = Field(default="both", max_length=10)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
