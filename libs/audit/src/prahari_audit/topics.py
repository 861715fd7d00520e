"""Reading a topic whole, as the audit tool does: the values of every message, every
partition from the beginning to the end it had when the read began. The cross-service log
is kept forever, so this is the full history."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import ConsumerRecord

from prahari_events.kafka import KafkaAccess, read_records


async def read_whole(
    kafka: KafkaAccess,
    topic: str,
    keep: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _: True,
) -> list[bytes]:
    """The values of the topic's messages that `keep` accepts; an empty list for a topic
    that does not exist."""
    return [m.value or b"" for m in await read_records(kafka, topic, keep)]
