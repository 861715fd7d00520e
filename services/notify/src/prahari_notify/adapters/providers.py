"""The delivery providers, one client per channel behind the same small interface (GOV.UK
Notify's pattern). Each failure says whether a retry can help."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol

import aiosmtplib

from prahari_events.errors import DeliveryError
from prahari_events.sms import HttpSmsGateway


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A queued message as the dispatcher hands it to a provider."""

    notification_id: str
    address: str
    recipient_name: str
    subject: str | None
    body: str
    template_id: str | None
    case_id: str
    trace: dict[str, str]


class Provider(Protocol):
    async def send(self, message: Outgoing) -> str | None:
        """Deliver, returning the provider's reference; raise DeliveryError on failure."""
        ...


class SmsSender:
    """Sends notifications through the shared DLT gateway client."""

    def __init__(self, gateway: HttpSmsGateway) -> None:
        self._gateway = gateway

    async def send(self, message: Outgoing) -> str | None:
        return await self._gateway.send(
            to=message.address,
            text=message.body,
            template_id=message.template_id,
            reference=message.notification_id,
            trace=message.trace,
        )


# CPython folds a long header with Hindi into several encoded-words and the spaces between
# them are lost on decoding ("नया मामला" arrives as "नयामामला"); folding only at SMTP's hard
# line limit keeps each header in one encoded-word.
_POLICY = email_policy.SMTP.clone(max_line_length=998)


class SmtpSender:
    def __init__(self, host: str, port: int, mail_from: str, *, timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._from = mail_from
        self._timeout = timeout_s

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
                f"SMTP {exc.code}: {exc.message}", retriable=not 500 <= exc.code < 600
            ) from None
        except ValueError as exc:  # aiosmtplib's address checks
            raise DeliveryError(f"invalid address: {exc}", retriable=False) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP server unreachable: {exc!r}", retriable=True) from None
        return str(email["Message-ID"])
