"""Each provider's sender against a real peer on loopback: the SMTP server of aiosmtpd,
ntfy and Twilio-compatible stand-ins that record requests and answer errors and 429s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.notify.apprise import AppriseSender
from bot.notify.email import EmailSender
from bot.notify.model import PersonMessage
from bot.notify.ntfy import NtfySender
from bot.notify.twilio import TwilioSender
from bot.outbox.model import DeliveryError
from tests.escalation.httpserver import http_server
from tests.notify.smtp import smtp_server

HOSTILE = 'checkout <img src=x onerror=alert(1)> & "@here"\r\nBcc: victim@example.com'
PAGE = PersonMessage(
    subject=f"[SEV1] {HOSTILE} (incident #42)",
    text=f"Fireline is paging you.\n\n{HOSTILE}\n",
    incident_id=42,
    severity="SEV1",
    ack_url="http://fireline.test/a/ACK-TOKEN",
    resolve_url="http://fireline.test/a/RESOLVE-TOKEN",
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def email_sender(port: int) -> EmailSender:
    return EmailSender(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        starttls=False,
        sender="fireline@example.com",
        timeout=5,
    )


async def test_email_arrives_with_links_and_the_alert_text_escaped() -> None:
    with smtp_server() as box:
        await email_sender(box.port).send("alice@example.com", PAGE)
    (mail,) = box.to("alice@example.com")
    assert box.recipients == ["alice@example.com"]  # no Bcc smuggled in through the title
    assert "\n" not in mail["Subject"]
    assert mail["Subject"].startswith("[SEV1] checkout")
    assert mail["Auto-Submitted"] == "auto-generated"
    html_part = mail.get_body(preferencelist=("html",))
    text_part = mail.get_body(preferencelist=("plain",))
    assert html_part is not None
    assert text_part is not None
    html = html_part.get_content()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;@here&quot;" in html
    assert 'href="http://fireline.test/a/ACK-TOKEN"' in html
    assert "Resolve: http://fireline.test/a/RESOLVE-TOKEN" in text_part.get_content()


async def test_email_refusals_are_final_and_deferrals_are_retried() -> None:
    with smtp_server() as box:
        box.refuse = {
            "gone@example.com": "550 5.1.1 no such user",
            "busy@example.com": "451 4.3.0 try again later",
        }
        sender = email_sender(box.port)
        with pytest.raises(DeliveryError) as refused:
            await sender.send("gone@example.com", PAGE)
        assert refused.value.permanent
        with pytest.raises(DeliveryError) as deferred:
            await sender.send("busy@example.com", PAGE)
        assert not deferred.value.permanent
    with pytest.raises(DeliveryError) as down:
        await email_sender(box.port).send("alice@example.com", PAGE)  # the server is gone
    assert not down.value.permanent


async def test_ntfy_publishes_json_with_an_acknowledge_action(client: httpx.AsyncClient) -> None:
    with http_server() as server:
        await NtfySender(client, base_url=server.url, token="tk_secret").send("alice-pages", PAGE)
    (request,) = server.requests
    assert request["path"] == "/"
    assert request["headers"]["Authorization"] == "Bearer tk_secret"
    body = request["json"]
    assert body["topic"] == "alice-pages"
    assert body["priority"] == 5
    assert body["title"] == PAGE.subject
    assert body["actions"][0] == {
        "action": "view",
        "label": "Acknowledge",
        "url": "http://fireline.test/a/ACK-TOKEN",
        "clear": True,
    }


async def test_ntfy_answers_become_retry_or_final(client: httpx.AsyncClient) -> None:
    with http_server([429, 500, 400]) as server:
        server.retry_after = "7"
        sender = NtfySender(client, base_url=server.url, token=None)
        with pytest.raises(DeliveryError) as limited:
            await sender.send("t", PAGE)
        assert limited.value.retry_after == 7.0
        assert not limited.value.permanent
        with pytest.raises(DeliveryError) as broken:
            await sender.send("t", PAGE)
        assert not broken.value.permanent
        with pytest.raises(DeliveryError) as refused:
            await sender.send("t", PAGE)
        assert refused.value.permanent
        assert "Authorization" not in server.requests[0]["headers"]


def twilio(client: httpx.AsyncClient, url: str, *, voice: bool) -> TwilioSender:
    return TwilioSender(
        client,
        base_url=url,
        account_sid="AC123",
        auth_token="twilio-secret",
        from_number="+15005550006",
        voice=voice,
    )


async def test_sms_carries_the_link_and_a_reply_hint(client: httpx.AsyncClient) -> None:
    with http_server() as server:
        await twilio(client, server.url, voice=False).send("+4915112345678", PAGE)
    (request,) = server.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert (
        request["headers"]["Authorization"]
        == httpx.BasicAuth("AC123", "twilio-secret")._auth_header
    )
    form = request["form"]
    assert form["To"] == "+4915112345678"
    assert form["From"] == "+15005550006"
    assert "Acknowledge: http://fireline.test/a/ACK-TOKEN" in form["Body"]
    assert 'reply "ack 42"' in form["Body"]


async def test_a_call_reads_the_page_as_escaped_twiml(client: httpx.AsyncClient) -> None:
    with http_server([400]) as server:
        sender = twilio(client, server.url, voice=True)
        with pytest.raises(DeliveryError) as refused:
            await sender.send("+4915112345678", PAGE)
        assert refused.value.permanent  # Twilio's 400: an invalid 'To', say
        await sender.send("+4915112345678", PAGE)
    request = server.requests[1]
    assert request["path"].endswith("/Calls.json")
    spoken = request["form"]["Twiml"]
    assert spoken.startswith("<Response><Say")
    assert "&lt;img src=x onerror=alert(1)&gt; &amp;" in spoken
    assert "<img" not in spoken
    assert "http" not in spoken  # a call reads no links


async def test_apprise_reaches_a_json_service_and_says_when_it_cannot() -> None:
    with http_server([500]) as server:
        address = server.url.replace("http://", "json://") + "/hook"
        with pytest.raises(DeliveryError):
            await AppriseSender(timeout=10).send(address, PAGE)
        await AppriseSender(timeout=10).send(address, PAGE)
    body = server.requests[1]["json"]
    assert body["title"] == PAGE.subject
    assert "Acknowledge: http://fireline.test/a/ACK-TOKEN" in body["message"]
    with pytest.raises(DeliveryError) as unknown:
        await AppriseSender(timeout=10).send("nosuchscheme://x", PAGE)
    assert unknown.value.permanent
