"""Passing failures: which errors are worth retrying, one log line per interval, and a
background loop that restarts itself after a failure with /readyz red only meanwhile."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from aiohttp import web
from aiokafka.errors import KafkaConnectionError

from prahari_events.errors import InvalidInput, InvalidTransition, Unavailable
from prahari_events.runtime import background
from prahari_events.telemetry import _demote_startup_noise
from prahari_events.transient import Throttle, is_transient, poll
from prahari_events.web import READY_CHECKS


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (asyncpg.ConnectionDoesNotExistError("closed in the middle"), True),
        (asyncpg.InternalClientError("cannot switch to state 12"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.TooManyConnectionsError("too many"), True),
        (asyncpg.SerializationError("could not serialize"), True),
        (asyncpg.DeadlockDetectedError("deadlock"), True),
        (asyncpg.AdminShutdownError("terminating connection"), True),
        (
            asyncpg.ReadOnlySQLTransactionError("read-only"),
            True,
        ),  # a write that reached a standby during a failover
        (asyncpg.QueryCanceledError("statement timeout"), True),
        (KafkaConnectionError(), True),
        (Unavailable("the broker did not answer"), True),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (asyncpg.CharacterNotInRepertoireError("invalid byte sequence"), False),
        (asyncpg.InvalidTextRepresentationError("bad uuid"), False),
        (InvalidInput("bad"), False),
        (InvalidTransition("closed"), False),
        (ValueError("a bug"), False),
        (KeyError("a bug"), False),
    ],
)
def test_only_outages_are_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_throttle_lets_one_line_through_per_interval_and_counts_the_rest() -> None:
    now = [0.0]
    throttle = Throttle(interval_s=10, clock=lambda: now[0])
    assert throttle.ready("db") == 0
    assert [throttle.ready("db") for _ in range(5)] == [None] * 5
    assert throttle.ready("kafka") == 0  # another kind of failure has its own line
    now[0] = 10.5
    assert throttle.ready("db") == 5  # the next line says how many were held back


async def test_a_failed_loop_restarts_and_readyz_is_red_only_while_it_is_down() -> None:
    app = web.Application()
    app[READY_CHECKS] = {}
    runs = 0
    failing = asyncio.Event()
    release = asyncio.Event()
    stop = asyncio.Event()

    async def run() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            failing.set()
            await release.wait()
            raise asyncpg.InternalClientError("cannot switch to state 12")
        await stop.wait()

    async with background(app, "relay", run, stop.set, restart_s=(0.05, 0.2)) as task:
        check = app[READY_CHECKS]["relay"]
        await failing.wait()
        await check()  # running
        release.set()
        for _ in range(200):
            if runs >= 3:
                break
            await asyncio.sleep(0.01)
        assert runs == 3
        await check()  # back up after two failures
        assert not task.done()
    assert task.done()
    assert task.exception() is None


async def test_readyz_is_red_while_a_loop_waits_to_restart() -> None:
    app = web.Application()
    app[READY_CHECKS] = {}

    async def run() -> None:
        raise asyncpg.InternalClientError("cannot switch to state 12")

    async with background(app, "relay", run, lambda: None, restart_s=(30, 60)):
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError, match="restarting after"):
            await app[READY_CHECKS]["relay"]()


def test_the_group_coordinators_start_up_message_is_not_an_error() -> None:
    def record(name: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)

    noise = record(
        "aiokafka.consumer.group_coordinator",
        "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError",
    )
    assert _demote_startup_noise(noise)
    assert (noise.levelno, noise.levelname) == (logging.INFO, "INFO")
    real = record("aiokafka.consumer.group_coordinator", "Error sending JoinGroupRequest")
    assert _demote_startup_noise(real)
    assert real.levelno == logging.ERROR


async def test_a_polling_loop_retries_a_passing_failure_and_stops_when_asked() -> None:
    stopping = asyncio.Event()
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionResetError("the database restarted")
        if len(calls) == 3:
            stopping.set()
        return 5 if len(calls) == 2 else 0  # a full batch: again at once

    log = logging.getLogger("test")
    await asyncio.wait_for(
        poll(step, stopping=stopping, poll_s=0.001, batch=5, what="test", log=log), 5
    )
    assert len(calls) == 3


async def test_a_polling_loop_lets_a_bug_through() -> None:
    async def step() -> int:
        raise ValueError("a bug, for the supervisor to report")

    with pytest.raises(ValueError, match="a bug"):
        await poll(
            step, stopping=asyncio.Event(), poll_s=0.001, batch=5, what="x", log=logging.getLogger()
        )
