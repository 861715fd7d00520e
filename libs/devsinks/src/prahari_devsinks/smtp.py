from __future__ import annotations

import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class MailSink:
    """An aiosmtpd handler that keeps every message it accepts (and, given a path, appends
    it to a JSON-lines file)."""

    path: Path | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            if self.path is not None:
                body = message.get_body(("plain",))
                record: dict[str, Any] = {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "headers": {k: str(v) for k, v in message.items()},
                    "body": body.get_content() if body is not None else "",
                }
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)


def start_smtp(host: str, port: int, sink: MailSink) -> Controller:
    """Start a real SMTP server on its own thread; call .stop() on the result to end it."""
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    return controller
