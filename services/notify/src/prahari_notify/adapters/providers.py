"""The delivery providers, one client per channel behind the same small interface (GOV.UK
Notify's pattern). Each failure says whether a retry can help."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol

import aiohttp
import aiosmtplib

from prahari_events.errors import DeliveryError
from prahari_notify.domain.messages import sms_segments


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


class HttpSmsGateway:
    """An HTTP SMS gateway (DLT-registered sender, entity and templates). Our notification id
    goes along as the client reference, so a gateway that deduplicates on it can turn a
    resend after a crash into a no-op."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        sender_id: str,
        entity_id: str,
        timeout_s: float = 10.0,
    ) -> None:
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
                self._url, json=request, headers=message.trace, timeout=self._timeout
            ) as response:
                text = await response.text()
                if response.status < 300:
                    try:
                        answer = await response.json(content_type=None)
                    except ValueError:
                        return None
                    return str(answer.get("id")) if isinstance(answer, dict) else None
                retriable = response.status >= 500 or response.status in (408, 429)
                raise DeliveryError(
                    f"SMS gateway answered {response.status}: {text[:200]}", retriable=retriable
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc!r}", retriable=True) from None


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
