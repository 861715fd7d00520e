"""The fault drill, short (tests/drill.py; ./dev drill runs it longer): on a PostgreSQL and a
broker of its own, under a steady load, each service is killed and restarted, the broker
paused and PostgreSQL restarted, one after the other. Nothing accepted is lost, no case,
SMS or email is doubled, nothing is dead-lettered, and no report is refused."""

from __future__ import annotations

import pytest

from tests import drill

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


async def test_the_short_drill_loses_nothing_and_doubles_nothing() -> None:
    figures = await drill.run(cluster=False, rate=3.0, phase_s=5.0, hold_s=3.0)
    print(figures)
    assert figures["accepted"] >= 100
    assert figures["refused"] == 0
    assert figures["lost"] == 0
    assert figures["cases_doubled"] == 0
    assert figures["sms"] >= figures["cases"]  # every case told its district room by SMS
    assert figures["sms_doubled"] == 0
    assert figures["emails_doubled"] == 0
    assert figures["dead_lettered"] == 0
