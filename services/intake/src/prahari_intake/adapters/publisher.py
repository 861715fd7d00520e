"""Publishes intake's events straight to Kafka. The 202 goes out only after Kafka has the
event on all in-sync replicas, so Kafka is where an accepted report lives."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from prahari_events.envelope import Envelope
from prahari_events.errors import Unavailable
from prahari_events.kafka import envelope_headers


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer, ack_timeout_s: float) -> None:
        self._producer = producer
        self._ack_timeout_s = ack_timeout_s

    async def publish(self, topic: str, envelope: Envelope, body: bytes) -> None:
        """Publish `body`, the encoded `envelope`, and wait for the durable ack."""
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    topic, body, key=envelope.stream_id.encode(), headers=envelope_headers(envelope)
                ),
                self._ack_timeout_s,
            )
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                f"the event log did not acknowledge the report ({type(exc).__name__});"
                " retry later, with the same Idempotency-Key so it cannot be filed twice"
            ) from None
