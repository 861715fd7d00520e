from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web


@dataclass
class SmsGateway:
    """A local stand-in for a DLT SMS gateway's HTTP API. It records every request with its
    headers, answers with a message id, and, like real gateways that take a client
    reference, answers a repeated reference with the id it gave the first time. Tests can
    make it fail the next N requests with a given status."""

    path: Path | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    ids_by_reference: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 503

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        record = {"headers": dict(request.headers), "body": body}
        self.requests.append(record)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "try again"}, status=self.fail_status)
        reference = str(body.get("reference", ""))
        first = reference not in self.ids_by_reference
        message_id = self.ids_by_reference.setdefault(reference, f"sms-{uuid.uuid4()}")
        if self.path is not None and first:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"id": message_id, **body}, ensure_ascii=False) + "\n")
        return web.json_response({"id": message_id, "status": "accepted", "duplicate": not first})

    def delivered(self) -> list[dict[str, Any]]:
        """The distinct messages a phone would have received (one per reference)."""
        seen: dict[str, dict[str, Any]] = {}
        for record in self.requests:
            reference = str(record["body"].get("reference", ""))
            seen.setdefault(reference, record)
        return list(seen.values())

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/sms", self.handle)
        return app
