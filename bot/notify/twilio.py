"""SMS and voice calls through a Twilio-compatible REST API (Twilio's own, or any service
that speaks its Messages and Calls endpoints).

A text carries the subject and the acknowledge link, and the reply "ack" acknowledges; a
call reads the page aloud (TwiML ``<Say>``, its text XML-escaped, never a link). The auth
token is a credential: it goes in the Authorization header and nowhere else.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from bot.notify.http import post
from bot.notify.model import PersonMessage

SMS_LIMIT = 1600  # Twilio's limit for one message body


def sms_body(message: PersonMessage) -> str:
    parts = [message.subject]
    if message.ack_url:
        parts.append(f"Acknowledge: {message.ack_url}")
    if message.incident_id is not None:
        parts.append(f'Or reply "ack {message.incident_id}".')
    return "\n".join(parts)[:SMS_LIMIT]


def twiml(message: PersonMessage) -> str:
    spoken = f"This is Fireline. {message.subject}. Acknowledge with the link in your messages."
    if message.verification:
        spoken = "This is Fireline, testing a new contact method. Nothing to do now."
    return f'<Response><Say voice="alice">{escape(spoken)}</Say></Response>'


class TwilioSender:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        voice: bool,
        timeout: float = 15.0,
    ) -> None:
        self._client = client
        endpoint = "Calls.json" if voice else "Messages.json"
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/{endpoint}"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = from_number
        self._voice = voice
        self._timeout = timeout

    async def send(self, to: str, message: PersonMessage) -> None:
        form = {"To": to, "From": self._from}
        if self._voice:
            form["Twiml"] = twiml(message)
        else:
            form["Body"] = sms_body(message)
        what = "the voice provider" if self._voice else "the SMS provider"
        await post(self._client, what, self._url, data=form, auth=self._auth, timeout=self._timeout)
