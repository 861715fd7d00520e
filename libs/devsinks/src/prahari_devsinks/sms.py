from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class SmsGateway:
    """A local stand-in for a DLT SMS gateway's HTTP API, for development and tests.

    - `POST /sms` takes a message and answers with a message id; like real gateways that
      take a client reference, it answers a repeated reference with the id it gave the
      first time and sends nothing more.
    - `GET /sms/{reference}` answers what it knows of a reference (404: never taken).
    - Given `receipt_url` and `receipt_secret`, it posts a signed delivery report for each
      message it takes, after `receipt_delay_s`.
    - Tests (in process, or `POST /control` with the same field names) can make it slow
      (`delay_s`), refuse the next N messages (`fail_next`, `fail_status`), take the next N
      and then not answer (`timeout_next`, for `hang_s`), drop receipts, or report failure.
    """

    path: Path | None = None
    receipt_url: str | None = None
    receipt_secret: str | None = None
    receipt_delay_s: float = 0.0
    receipt_status: str = "delivered"
    drop_receipts: bool = False
    delay_s: float = 0.0
    fail_next: int = 0
    fail_status: int = 503
    timeout_next: int = 0
    hang_s: float = 30.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    ids_by_reference: dict[str, str] = field(default_factory=dict)
    status_by_reference: dict[str, str] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)
    receipts_sent: list[dict[str, Any]] = field(default_factory=list)
    # Crash drills: called with each reference as a request arrives (return False to take
    # it no further) and once it is accepted.
    on_receive: Callable[[str], bool] | None = None
    on_accept: Callable[[str], None] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    _CONTROLS = (
        "receipt_url",
        "receipt_secret",
        "receipt_delay_s",
        "receipt_status",
        "drop_receipts",
        "delay_s",
        "fail_next",
        "fail_status",
        "timeout_next",
        "hang_s",
    )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        record = {"headers": dict(request.headers), "body": body, "at": time.time()}
        self.requests.append(record)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "try again"}, status=self.fail_status)
        reference = str(body.get("reference", ""))
        if self.on_receive is not None and not self.on_receive(reference):
            return web.json_response({"error": "not taken"}, status=503)
        first = reference not in self.ids_by_reference
        message_id = self.ids_by_reference.setdefault(reference, f"sms-{uuid.uuid4()}")
        if first:
            self.status_by_reference[reference] = "accepted"
            self.accepted_at[reference] = time.time()
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    line = {"id": message_id, "at": time.time(), **body}
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            if self.on_accept is not None:
                self.on_accept(reference)
            if self.receipt_url and not self.drop_receipts:
                task = asyncio.create_task(self._receipt(reference, message_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self.timeout_next > 0:
            # Taken, and then no answer: the client times out not knowing it was sent.
            self.timeout_next -= 1
            await asyncio.sleep(self.hang_s)
        return web.json_response({"id": message_id, "status": "accepted", "duplicate": not first})

    async def status(self, request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        if reference not in self.ids_by_reference:
            return web.json_response({"error": "unknown reference"}, status=404)
        return web.json_response(
            {"id": self.ids_by_reference[reference], "status": self.status_by_reference[reference]}
        )

    async def control(self, request: web.Request) -> web.Response:
        changes = await request.json()
        for name, value in changes.items():
            if name not in self._CONTROLS:
                return web.json_response({"error": f"unknown control {name}"}, status=400)
            setattr(self, name, value)
        return web.json_response({name: getattr(self, name) for name in self._CONTROLS})

    async def _receipt(self, reference: str, message_id: str) -> None:
        await asyncio.sleep(self.receipt_delay_s)
        status = self.receipt_status
        self.status_by_reference[reference] = status
        body = json.dumps(
            {
                "reference": reference,
                "id": message_id,
                "status": status,
                "reason": None if status == "delivered" else "handset unreachable",
                "at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        await self.post_receipt(body)

    async def post_receipt(self, body: bytes, *, timestamp: str | None = None) -> int:
        """Sign and post a delivery report; its HTTP status (0: not reachable)."""
        assert self.receipt_url is not None
        assert self.receipt_secret is not None
        stamp = timestamp or str(int(time.time()))
        mac = hmac.new(self.receipt_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Prahari-Timestamp": stamp,
            "X-Prahari-Signature": "sha256=" + mac.hexdigest(),
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        for _ in range(5):  # a gateway retries a report a few times
            try:
                async with self._session.post(self.receipt_url, data=body, headers=headers) as r:
                    self.receipts_sent.append({"body": json.loads(body), "status": r.status})
                    if r.status < 500:
                        return r.status
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
        return 0

    def delivered(self) -> list[dict[str, Any]]:
        """The distinct messages a phone would have received (one per reference)."""
        seen: dict[str, dict[str, Any]] = {}
        for record in self.requests:
            reference = str(record["body"].get("reference", ""))
            if reference in self.ids_by_reference:
                seen.setdefault(reference, record)
        return list(seen.values())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/sms", self.handle)
        app.router.add_get("/sms/{reference}", self.status)
        app.router.add_post("/control", self.control)

        async def closing(_app: web.Application) -> None:
            await self.close()

        app.on_cleanup.append(closing)
        return app
