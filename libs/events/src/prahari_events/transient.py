"""What is a passing failure, and how often to say so.

A PostgreSQL restart, a failover or a timeout, or a broker that is away, is not a fault of
the message or request in hand: it is retried (a consumer never dead-letters for it), an
HTTP caller gets 503 with Retry-After (never 500), and a loop that meets it restarts. And
while the outage lasts, one log line per interval says so instead of one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from aiokafka.errors import KafkaError

from prahari_events.errors import PrahariError

# SQLSTATE classes: 08 connection exception, 40 transaction rollback (serialization,
# deadlock), 53 insufficient resources (too many connections, disk full), 57 operator
# intervention (admin shutdown, crash shutdown, cannot connect now, query cancelled); and
# 25006, read-only transaction: a write that reached a standby during a failover.
_TRANSIENT_CLASSES = ("08", "40", "53", "57")
_TRANSIENT_STATES = frozenset({"25006"})


def is_transient(exc: BaseException) -> bool:
    """True when trying the same thing again later may well succeed."""
    if isinstance(exc, PrahariError):
        return exc.retriable
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES
    # The client's side of a lost connection: closed under a query, or a connection left
    # mid-operation by one ("cannot switch to state ...; another operation is in progress").
    return isinstance(
        exc,
        OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.InternalClientError | KafkaError,
    )


@dataclass
class Throttle:
    """At most one line per key per interval: `ready(key)` gives how many were held back
    since the last line (0 or more) when it is time to log, None otherwise."""

    interval_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def ready(self, key: str) -> int | None:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


async def poll(
    step: Callable[[], Awaitable[int]],
    *,
    stopping: asyncio.Event,
    poll_s: float,
    batch: int,
    what: str,
    log: logging.Logger,
    max_backoff_s: float = 30.0,
) -> None:
    """Run `step` (which returns how much it did) until `stopping` is set: again at once
    after a full batch, after `poll_s` otherwise; after a passing failure, after a backoff
    that doubles up to `max_backoff_s`. Anything else is a bug, for the supervising loop
    (runtime.background) to report and restart."""
    backoff = poll_s
    while not stopping.is_set():
        try:
            done = await step()
            backoff = poll_s
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(f"{what} interrupted, retrying", extra={"fields": {"error": repr(exc)}})
            done = 0
            backoff = min(backoff * 2, max_backoff_s)
        if done < batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
