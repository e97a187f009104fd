"""``POST /webhooks/sms``: a person's SMS reply to a page, as a Twilio-compatible provider
posts it. The request is Twilio-signed (``X-Twilio-Signature`` with the account's auth
token over the address Twilio called, ``FIRELINE_PUBLIC_URL`` + the path), the sender is a
person of the directory by phone, their role is checked, and the provider's ``MessageSid``
is remembered in the transaction that acts, so a message delivered twice acts once. The
answer is TwiML, its text XML-escaped."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.errors import FirelineError, PermissionDeniedError
from bot.incidents.links import act_on_reply
from bot.notify.replies import HELP, normalise_phone, parse_reply, signature_valid
from bot.people.config import PersonConfig
from bot.people.service import authorize
from bot.routing import call_service
from storage import queries_notify

PATH = "/webhooks/sms"
router = APIRouter(include_in_schema=False)


def twiml(text: str, status: int = 200) -> Response:
    message = f"<Response><Message>{escape(text)}</Message></Response>"
    body = '<?xml version="1.0" encoding="UTF-8"?>' + message
    return Response(body, status_code=status, media_type="application/xml")


def _person_by_phone(runtime: Any, phone: str) -> PersonConfig | None:
    wanted = normalise_phone(phone)
    directory = runtime.people.config.directory
    return next((p for p in directory if p.phone and normalise_phone(p.phone) == wanted), None)


def _latest(runtime: Any, person: PersonConfig) -> int | None:
    with runtime.db.session() as session:
        names = [n for n in (person.id, person.slack) if n]
        return queries_notify.latest_open_page(session, names)


@router.post(PATH)
async def sms_reply(request: Request) -> Response:
    runtime = request.app.state.runtime
    settings = runtime.settings
    token = settings.twilio_auth_token
    form = {k: str(v) for k, v in (await request.form()).items()}
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    given = request.headers.get("x-twilio-signature", "")
    if token is None or not signature_valid(token.get_secret_value(), base + PATH, form, given):
        return Response("signature refused", status_code=403)
    person = _person_by_phone(runtime, form.get("From", ""))
    if person is None:
        return Response("unknown sender", status_code=403)
    reply = parse_reply(form.get("Body", ""))
    if reply is None:
        return twiml(HELP)
    incident_id = reply.incident_id or await call_service(_latest, runtime, person)
    if incident_id is None:
        return twiml("No open incident has paged you. " + HELP)
    now = runtime.clock()
    try:
        identity = runtime.people.command_identity(person.id)
        await call_service(
            authorize,
            runtime.db,
            identity,
            reply.action.permission,
            incident_id=incident_id,
            now=now,
        )
        done = await call_service(
            act_on_reply,
            runtime.db,
            incident_id,
            person=person.id,
            action=reply.action,
            message_id=form.get("MessageSid", ""),
            hooks=runtime.hooks,
            now=now,
        )
    except PermissionDeniedError as exc:
        return twiml(f"Not done: {exc}")
    except FirelineError as exc:
        return twiml(f"Nothing to do: {exc}")
    if done is None:
        return twiml("Already done.")
    verb = "Acknowledged" if reply.action.value == "ack" else "Resolved"
    return twiml(f"{verb} #{done.id}: {done.title}")
