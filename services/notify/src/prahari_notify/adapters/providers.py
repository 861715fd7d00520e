"""The delivery providers: an HTTP SMS gateway (DLT) and an SMTP relay, each behind the same
small interface (GOV.UK Notify's pattern), each configured as a primary and an optional
fallback. Every failure says what we know of it:

- `DeliveryError(retriable=...)`: a definite failure; the provider does not have the message
  (refused, or never reached), so trying again, or trying the fallback, cannot double it.
- `OutcomeUnknown`: the request went out and no answer came back; the provider may have the
  message. Only the same provider is asked again, with the same reference.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from typing import Protocol

import aiohttp
import aiosmtplib

from prahari_events.errors import DeliveryError
from prahari_notify.domain.sms import sms_segments


class OutcomeUnknown(DeliveryError):
    """Sent, and no answer: the provider may or may not have accepted it."""

    code = "delivery_outcome_unknown"

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A queued message as the dispatcher hands it to a provider."""

    notification_id: str
    address: str
    recipient_name: str
    subject: str | None
    body: str
    template_id: str | None
    case_id: str | None
    trace: Mapping[str, str]


class Provider(Protocol):
    name: str
    # Whether `status` can say what became of a reference (an SMS gateway can; SMTP cannot,
    # so a message whose outcome is unknown goes again with the same Message-ID).
    answers_status: bool

    async def close(self) -> None:
        """Let go of kept connections."""
        ...

    async def send(self, message: Outgoing) -> str | None:
        """Deliver, returning the provider's reference; raise DeliveryError on failure."""
        ...

    async def status(self, notification_id: str) -> tuple[str, str | None] | None:
        """What the provider knows of a reference we sent: (its status, its id), or None
        when it never took it. Called only when `answers_status`."""
        ...


class HttpSmsGateway:
    """A DLT SMS gateway's HTTP API. Our notification id goes along as the client reference:
    the gateway answers a repeated reference with the id it gave the first time (and sends
    nothing more), and answers status queries by it."""

    answers_status = True

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        url: str,
        *,
        sender_id: str,
        entity_id: str,
        timeout_s: float,
    ) -> None:
        self.name = name
        self._session = session
        self._url = url
        self._sender_id = sender_id
        self._entity_id = entity_id
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, message: Outgoing) -> str | None:
        segments = sms_segments(message.body)
        request = {
            "to": message.address,
            "sender": self._sender_id,
            "entity_id": self._entity_id,
            "template_id": message.template_id,
            "text": message.body,
            "unicode": segments.encoding == "UCS-2",
            "parts": segments.parts,
            "reference": message.notification_id,
        }
        try:
            async with self._session.post(
                self._url, json=request, headers=dict(message.trace), timeout=self._timeout
            ) as response:
                answer_text = await response.text()
                if response.status < 300:
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        return None
                    return str(answer.get("id")) if isinstance(answer, dict) else None
                retriable = response.status >= 500 or response.status in (408, 429)
                raise DeliveryError(
                    f"SMS gateway {self.name} answered {response.status}: {answer_text[:200]}",
                    retriable=retriable,
                )
        except aiohttp.ClientConnectorError as exc:
            # Never connected: the gateway cannot have the message.
            raise DeliveryError(
                f"SMS gateway {self.name} unreachable: {exc}", retriable=True
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OutcomeUnknown(f"SMS gateway {self.name} gave no answer: {exc!r}") from None

    async def close(self) -> None:
        return None  # the session belongs to the caller

    async def status(self, notification_id: str) -> tuple[str, str | None] | None:
        try:
            async with self._session.get(
                f"{self._url}/{notification_id}", timeout=self._timeout
            ) as response:
                if response.status == 404:
                    return None
                if response.status >= 300:
                    raise OutcomeUnknown(f"status query answered {response.status}")
                answer = await response.json(content_type=None)
                return str(answer.get("status")), answer.get("id")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OutcomeUnknown(f"SMS gateway {self.name} status query failed: {exc!r}") from None


def _header(value: str) -> str:
    """A header value as it is when ASCII, else one RFC 2047 encoded-word (UTF-8, base64):
    one word, because decoders drop the spaces between several ("नया मामला" would arrive as
    "नयामामला"). Line breaks are refused: a header never gains a line from data."""
    value = " ".join(value.splitlines())
    if value.isascii():
        return value
    return f"=?utf-8?b?{base64.b64encode(value.encode()).decode()}?="


def mime(
    *,
    sender: str,
    recipient_name: str,
    recipient: str,
    subject: str,
    message_id: str,
    headers: Mapping[str, str],
    body: str,
) -> bytes:
    """A plain-text UTF-8 message, built directly: the email package's header objects cost
    about 2 ms a message, more than everything else notify does to send it."""
    if not _ADDRESS.fullmatch(recipient):
        raise DeliveryError(f"invalid address {recipient!r}", retriable=False)
    name = _header(recipient_name)
    if name.isascii() and not name.startswith("=?"):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = [
        f"From: {_header(sender)}",
        f"To: {name} <{recipient}>",
        f"Subject: {_header(subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id}",
        *(f"{key}: {_header(value)}" for key, value in headers.items()),
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
    ]
    encoded = base64.encodebytes(body.encode()).decode().replace("\n", "\r\n")
    return ("\r\n".join(lines) + "\r\n" + encoded).encode("ascii")


# What SMTP can carry as a recipient: local@domain, no spaces, brackets or line breaks.
_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")


class SmtpSender:
    """An SMTP relay, over connections kept open between messages (up to `keep` idle ones):
    a new connection per message cost more round trips than the message itself. Each step
    of the SMTP conversation says what a failure there means: before DATA nothing was sent
    (a stale kept connection is replaced at once; anything else is a definite failure); a
    refusal of DATA is definite too; no answer to DATA is "outcome unknown"."""

    answers_status = False

    def __init__(
        self, name: str, host: str, port: int, mail_from: str, *, timeout_s: float, keep: int = 8
    ) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._from = mail_from
        self._sender = parseaddr(mail_from)[1]
        self._timeout = timeout_s
        self._keep = keep
        self._idle: list[aiosmtplib.SMTP] = []

    async def status(self, notification_id: str) -> tuple[str, str | None] | None:
        return None  # never asked: answers_status is False

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout)
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            raise DeliveryError(f"SMTP {self.name} unreachable: {exc!r}", retriable=True) from None
        return smtp

    async def send(self, message: Outgoing) -> str | None:
        # A stable Message-ID: a resend after a crash is recognisably the same message.
        message_id = f"<{message.notification_id}@prahari.local>"
        headers = {"X-Prahari-Notification": message.notification_id, **message.trace}
        if message.case_id:
            headers["X-Prahari-Case"] = message.case_id
        data = mime(
            sender=self._from,
            recipient_name=message.recipient_name,
            recipient=message.address,
            subject=message.subject or "Prahari",
            message_id=message_id,
            headers=headers,
            body=message.body,
        )
        kept = self._idle.pop() if self._idle else None
        if kept is not None and not kept.is_connected:
            kept.close()
            kept = None
        smtp = kept or await self._connect()
        try:
            await self._envelope(smtp, message.address, reused=smtp is kept)
        except _Stale:
            smtp.close()
            smtp = await self._connect()
            await self._envelope(smtp, message.address, reused=False)
        try:
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            raise DeliveryError(
                f"SMTP {self.name} {exc.code}: {exc.message}", retriable=not 500 <= exc.code < 600
            ) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            # Mail may go out once more after this, with the same Message-ID, and only then.
            raise OutcomeUnknown(f"SMTP {self.name} gave no answer: {exc!r}") from None
        if len(self._idle) < self._keep:
            self._idle.append(smtp)
        else:
            smtp.close()
        return message_id

    async def _envelope(self, smtp: aiosmtplib.SMTP, recipient: str, *, reused: bool) -> None:
        """MAIL and RCPT: nothing is sent yet, so every failure here is definite."""
        try:
            await smtp.mail(self._sender)
            await smtp.rcpt(recipient)
        except aiosmtplib.SMTPRecipientRefused as exc:
            smtp.close()  # not kept with a half-made envelope on it
            raise DeliveryError(f"recipient refused: {exc}", retriable=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            raise DeliveryError(
                f"SMTP {self.name} {exc.code}: {exc.message}", retriable=not 500 <= exc.code < 600
            ) from None
        except ValueError as exc:  # aiosmtplib's address checks
            smtp.close()
            raise DeliveryError(f"invalid address: {exc}", retriable=False) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            if reused:
                raise _Stale from None  # the relay closed a kept connection
            smtp.close()
            raise DeliveryError(f"SMTP {self.name} failed: {exc!r}", retriable=True) from None


class _Stale(Exception):
    """A kept connection the relay had closed: nothing was sent on it."""
