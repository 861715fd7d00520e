"""The delivery providers: an HTTP SMS gateway (DLT) and an SMTP relay, each behind the same
small interface (GOV.UK Notify's pattern), each configured as a primary and an optional
fallback. Every failure says what we know of it:

- `DeliveryError(retriable=...)`: a definite failure; the provider does not have the message
  (refused, or never reached), so trying again, or trying the fallback, cannot double it.
- `OutcomeUnknown`: the request went out and no answer came back; the provider may have the
  message. Only the same provider is asked again, with the same reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
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

    async def send(self, message: Outgoing) -> str | None:
        """Deliver, returning the provider's reference; raise DeliveryError on failure."""
        ...

    async def status(self, notification_id: str) -> tuple[str, str | None] | None:
        """What the provider knows of a reference we sent: (its status, its id), or None
        when it never took it. Providers that cannot say raise NotImplementedError."""
        ...


class HttpSmsGateway:
    """A DLT SMS gateway's HTTP API. Our notification id goes along as the client reference:
    the gateway answers a repeated reference with the id it gave the first time (and sends
    nothing more), and answers status queries by it."""

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


# CPython folds a long header with Hindi into several encoded-words and the spaces between
# them are lost on decoding ("नया मामला" arrives as "नयामामला"); folding only at SMTP's hard
# line limit keeps each header in one encoded-word.
_POLICY = email_policy.SMTP.clone(max_line_length=998)


class SmtpSender:
    def __init__(
        self, name: str, host: str, port: int, mail_from: str, *, timeout_s: float
    ) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._from = mail_from
        self._timeout = timeout_s

    async def status(self, notification_id: str) -> tuple[str, str | None] | None:
        # SMTP cannot be asked; a resend carries the same Message-ID instead.
        raise NotImplementedError

    async def send(self, message: Outgoing) -> str | None:
        email = EmailMessage(policy=_POLICY)
        email["From"] = self._from
        try:
            # Address() quotes a display name like "District Control Room, Sonbhadra".
            email["To"] = Address(display_name=message.recipient_name, addr_spec=message.address)
        except (ValueError, IndexError) as exc:
            raise DeliveryError(
                f"invalid address {message.address!r}: {exc}", retriable=False
            ) from None
        email["Subject"] = message.subject or "Prahari"
        email["Date"] = formatdate(localtime=False)
        # A stable Message-ID: a resend after a crash is recognisably the same message.
        email["Message-ID"] = f"<{message.notification_id}@prahari.local>"
        if message.case_id:
            email["X-Prahari-Case"] = message.case_id
        email["X-Prahari-Notification"] = message.notification_id
        for key, value in message.trace.items():
            email[key] = value
        email.set_content(message.body, charset="utf-8")
        try:
            # Flattened here with our policy: given an EmailMessage, aiosmtplib would
            # flatten it again with the folding policy that loses Hindi spaces.
            await aiosmtplib.send(
                email.as_bytes(policy=_POLICY),
                sender=parseaddr(self._from)[1],
                recipients=[message.address],
                hostname=self._host,
                port=self._port,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", retriable=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {self.name} {exc.code}: {exc.message}", retriable=not 500 <= exc.code < 600
            ) from None
        except ValueError as exc:  # aiosmtplib's address checks
            raise DeliveryError(f"invalid address: {exc}", retriable=False) from None
        except (aiosmtplib.SMTPConnectError, ConnectionRefusedError) as exc:
            raise DeliveryError(f"SMTP {self.name} unreachable: {exc!r}", retriable=True) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Mail may go out once more after this, with the same Message-ID, and only then.
            raise OutcomeUnknown(f"SMTP {self.name} gave no answer: {exc!r}") from None
        return str(email["Message-ID"])
