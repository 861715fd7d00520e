"""Publishes intake's events straight to Kafka. Intake keeps no database of its own for
reports: the 202 goes out only after Kafka has the event on all in-sync replicas, so Kafka
is where an accepted report lives."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from prahari_events.envelope import Envelope
from prahari_events.errors import Unavailable
from prahari_events.kafka import envelope_headers
from prahari_events.registry import Registry


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer, registry: Registry, ack_timeout_s: float):
        self._producer = producer
        self._registry = registry
        self._ack_timeout_s = ack_timeout_s

    async def publish(self, topic: str, envelope: Envelope) -> None:
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    topic,
                    self._registry.encode(envelope),
                    key=envelope.stream_id.encode(),
                    headers=envelope_headers(envelope),
                ),
                self._ack_timeout_s,
            )
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                f"the event log did not acknowledge the report ({type(exc).__name__});"
                " it may not have been recorded; retry later"
            ) from None
