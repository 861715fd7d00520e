"""The pure domain of each service: commands and events in, events out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prahari_events import lgd
from prahari_events.errors import Forbidden, InvalidInput
from prahari_intake.domain.reports import FileReport, file_report
from tests.factories import AUDITOR, CHANDAULI, SONBHADRA, STATE_ROOM, STATION, UP

NOW = datetime(2024, 4, 11, 10, 0, tzinfo=UTC)


def _command(**overrides: object) -> FileReport:
    fields: dict[str, object] = {
        "report_type": "rumour",
        "description": "सोशल मीडिया पर मतदान रद्द होने की झूठी खबर",
        "state": UP,
        "district": SONBHADRA,
        "occurred_at": NOW - timedelta(minutes=10),
    }
    fields.update(overrides)
    return FileReport(**fields)  # type: ignore[arg-type]


def test_filing_a_report_records_who_and_where() -> None:
    draft = file_report(_command(), STATION, lgd.load(), NOW)
    assert draft.type == "report.received"
    assert draft.actor.unit_id == STATION.unit_id
    assert (draft.jurisdiction.state, draft.jurisdiction.district) == (UP, SONBHADRA)
    assert draft.payload["description"].startswith("सोशल")
    assert draft.occurred_at == NOW - timedelta(minutes=10)


def test_a_report_from_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        file_report(_command(occurred_at=NOW + timedelta(hours=1)), STATION, lgd.load(), NOW)
    assert "occurred_at" in caught.value.fields


def test_a_little_clock_skew_is_forgiven() -> None:
    file_report(_command(occurred_at=NOW + timedelta(minutes=2)), STATION, lgd.load(), NOW)


def test_unknown_lgd_codes_are_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        file_report(_command(state=UP, district=99999), STATION, lgd.load(), NOW)
    assert "district" in caught.value.fields


def test_a_station_reports_only_for_its_district() -> None:
    with pytest.raises(Forbidden):
        file_report(_command(district=CHANDAULI), STATION, lgd.load(), NOW)
    file_report(_command(district=CHANDAULI), STATE_ROOM, lgd.load(), NOW)


def test_an_auditor_files_nothing() -> None:
    with pytest.raises(Forbidden):
        file_report(_command(), AUDITOR, lgd.load(), NOW)
