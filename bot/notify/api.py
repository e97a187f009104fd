"""People's contact methods over HTTP: list, add (verified by a test message), remove,
test again. A person may edit their own; an admin anyone's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, Path
from pydantic import BaseModel, Field, field_validator

from bot.durations import parse_duration
from bot.errors import NotFoundError
from bot.notify import service
from bot.notify.model import MethodKind
from bot.people.config import PersonConfig
from bot.people.directory import Directory
from bot.people.http import Caller, allowed
from bot.people.model import Action, Identity
from bot.routing import ServiceCore, call_service, protected_router, refusals, runtime_of


class NotifyRuntime(ServiceCore, Protocol):
    @property
    def people(self) -> Directory: ...


RuntimeDep = Annotated[NotifyRuntime, Depends(runtime_of)]
PersonId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
MethodName = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._-]+$")]

router = protected_router(prefix="/api/people", tags=["people"])


class ContactMethodIn(BaseModel):
    name: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._-]+$")
    kind: MethodKind
    to: str = Field(min_length=1, max_length=500)
    after: str = Field(default="0s", description="reach it this long after a page, e.g. 3m")
    urgency: Literal["high", "low", "both"] = "both"

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        delay = parse_duration(value)
        if delay < timedelta(0) or delay > timedelta(hours=24):
            raise ValueError("after is between 0s and 24h")
        return value


class ContactMethodOut(BaseModel):
    name: str
    kind: str
    to: str
    source: str  # config | api
    status: str  # pending | verified | failed
    error: str | None = None
    after: str | None = None  # a method of the API's own delay; config methods follow rules
    verified_at: str | None = None


async def _person(runtime: NotifyRuntime, who: Identity, person_id: str) -> PersonConfig:
    person = runtime.people.person(person_id)
    if person is None:
        raise NotFoundError(f"no person {person_id!r} in the people directory")
    own = person_id in who.aliases or who.actor == person_id
    await allowed(
        runtime, who, Action.EDIT_OWN_CONTACT_METHODS if own else Action.EDIT_CONTACT_METHODS
    )
    return person


@router.get(
    "/{person_id}/contact-methods",
    response_model=list[ContactMethodOut],
    summary="A person's contact methods and whether each was verified",
    responses=refusals(403, 404),
)
async def list_methods(person_id: PersonId, runtime: RuntimeDep, who: Caller) -> list[Any]:
    person = await _person(runtime, who, person_id)
    return list(await call_service(service.methods_of, runtime.db, person))


@router.post(
    "/{person_id}/contact-methods",
    response_model=ContactMethodOut,
    status_code=201,
    summary="Add a contact method; a test message verifies it",
    responses=refusals(403, 404, 409),
)
async def add_method(
    person_id: PersonId, body: ContactMethodIn, runtime: RuntimeDep, who: Caller
) -> dict[str, Any]:
    person = await _person(runtime, who, person_id)
    await call_service(
        service.add_method,
        runtime.db,
        person,
        name=body.name,
        kind=body.kind,
        to=body.to,
        after=parse_duration(body.after),
        urgency=body.urgency,
        by=who.actor,
        now=runtime.clock(),
    )
    methods = await call_service(service.methods_of, runtime.db, person)
    return next(m for m in methods if m["name"] == body.name)


@router.delete(
    "/{person_id}/contact-methods/{name}",
    status_code=204,
    summary="Remove a contact method added through the API or the CLI",
    responses=refusals(403, 404, 409),
)
async def remove_method(
    person_id: PersonId, name: MethodName, runtime: RuntimeDep, who: Caller
) -> None:
    person = await _person(runtime, who, person_id)
    await call_service(service.remove_method, runtime.db, person, name)


@router.post(
    "/{person_id}/contact-methods/{name}/test",
    status_code=202,
    summary="Send the contact method's test message again",
    responses=refusals(403, 404),
)
async def test_method(
    person_id: PersonId, name: MethodName, runtime: RuntimeDep, who: Caller
) -> dict[str, str]:
    person = await _person(runtime, who, person_id)
    await call_service(service.retest_method, runtime.db, person, name, now=runtime.clock())
    return {"status": "queued"}
