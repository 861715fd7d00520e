"""The baseline for bench/intake.py: a bare aiohttp handler that only sends the request's
bytes to Kafka with aiokafka (acks=all, idempotent producer) and answers 202 after the ack.
No validation, no authentication, no idempotency: the floor intake is compared against.

    python bench/baseline_server.py PORT TOPIC
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from aiokafka import AIOKafkaProducer

PRODUCER = web.AppKey("producer", AIOKafkaProducer)
TOPIC = web.AppKey("topic", str)


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    report_id = str(uuid.uuid4())
    await request.app[PRODUCER].send_and_wait(request.app[TOPIC], body, key=report_id.encode())
    return web.json_response({"report_id": report_id, "status": "received"}, status=202)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def main() -> None:
    port, topic = int(sys.argv[1]), sys.argv[2]

    async def producer(app: web.Application) -> AsyncIterator[None]:
        app[PRODUCER] = AIOKafkaProducer(
            bootstrap_servers="127.0.0.1:9092", acks="all", enable_idempotence=True, linger_ms=1
        )
        await app[PRODUCER].start()
        yield
        await app[PRODUCER].stop()

    app = web.Application()
    app[TOPIC] = topic
    app.cleanup_ctx.append(producer)
    app.router.add_post("/v1/reports", handle)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
