"""Email through an SMTP server: STARTTLS and authentication when configured.

The standard library's smtplib, run in a thread with a timeout on every socket operation:
one message per connection keeps a stuck server from holding more than one page. A 5xx
reply is the server refusing the message (permanent); a 4xx, a refused connection or a
timeout is worth another attempt.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from bot.notify.model import PersonMessage
from bot.outbox.model import DeliveryError


def one_line(text: str, limit: int = 200) -> str:
    """Header-safe: no CR, LF or other control characters from alert text."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]


def compose(message: PersonMessage, *, sender: str, to: str) -> EmailMessage:
    """Plain text and HTML; every piece of alert text is escaped in the HTML."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = one_line(message.subject)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "fireline")
    mail["Auto-Submitted"] = "auto-generated"
    links = [("Acknowledge", message.ack_url), ("Resolve", message.resolve_url)]
    present = [(label, url) for label, url in links if url]
    text = message.text + "".join(f"\n{label}: {url}\n" for label, url in present)
    mail.set_content(text)
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in message.text.split("\n\n")
    )
    buttons = "".join(
        f'<p><a href="{html.escape(url, quote=True)}">{label}</a></p>' for label, url in present
    )
    mail.add_alternative(f"<html><body>{paragraphs}{buttons}</body></html>", subtype="html")
    return mail


class EmailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        starttls: bool,
        sender: str,
        timeout: float = 20.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._starttls = starttls
        self._sender = sender
        self._timeout = timeout

    async def send(self, to: str, message: PersonMessage) -> None:
        mail = compose(message, sender=self._sender, to=to)
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"the SMTP server refused the recipient: {exc.recipients}",
                permanent=all(code >= 500 for code in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"the SMTP server answered {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP {self._host}:{self._port}: {type(exc).__name__}: {exc}"
            ) from exc
