"""Reading a topic whole: every partition from the beginning to the end it had when the
read began. The cross-service log is kept forever, so this is the full history."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from prahari_events.kafka import KafkaAccess


async def read_whole(
    kafka: KafkaAccess,
    topic: str,
    keep: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _: True,
) -> list[bytes]:
    """The values of the topic's messages that `keep` accepts, partition by partition; an
    empty list for a topic that does not exist."""
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        p["partition"] for d in described if d["error_code"] == 0 for p in d["partitions"]
    ]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        **kafka.options(), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        found: list[bytes] = []
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            for messages in batch.values():
                found += [m.value or b"" for m in messages if keep(m)]
        return found
    finally:
        await consumer.stop()
