"""/readyz is cheap: however often it is asked, each check runs at most once a second, and
a failing check says which to nobody but a unit with a token (tests/integration)."""

from __future__ import annotations

import asyncio

from prahari_events.web import Readiness


async def test_checks_run_at_most_once_a_second_however_often_asked() -> None:
    now = [100.0]
    calls = {"kafka": 0, "postgres": 0}

    async def kafka() -> None:
        calls["kafka"] += 1

    async def postgres() -> None:
        calls["postgres"] += 1
        raise ConnectionError("down")

    readiness = Readiness({"kafka": kafka, "postgres": postgres}, clock=lambda: now[0])
    answers = await asyncio.gather(*(readiness.results() for _ in range(50)))
    assert calls == {"kafka": 1, "postgres": 1}
    assert answers[0] == {"kafka": "ok", "postgres": "unavailable"}  # no exception text
    now[0] += 0.5
    await readiness.results()
    assert calls["kafka"] == 1
    now[0] += 0.6
    await readiness.results()
    assert calls["kafka"] == 2
