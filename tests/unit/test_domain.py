"""The pure domain of each service: commands and events in, events out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from prahari_cases.domain.case import case_id_for, open_case, replay
from prahari_events import lgd
from prahari_events.catalogue import CASE_OPENED
from prahari_events.errors import Forbidden, InvalidInput
from prahari_events.registry import Registry
from prahari_intake.domain.reports import FileReport, file_report
from tests.factories import AUDITOR, CHANDAULI, SONBHADRA, STATE_ROOM, STATION, UP, report_envelope

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


def test_a_report_opens_one_case_with_the_cvigil_time_budget(registry: Registry) -> None:
    report = report_envelope(registry)
    drafts = open_case(report, NOW)
    assert [d.type for d in drafts] == [CASE_OPENED]
    opened = drafts[0]
    assert opened.causation_id == report.event_id
    assert opened.correlation_id == report.correlation_id
    assert opened.payload["reported_by"]["unit_id"] == STATION.unit_id
    assert opened.payload["assign_by"] == (NOW + timedelta(minutes=5)).isoformat(
        timespec="microseconds"
    )
    assert opened.payload["decide_by"] == (NOW + timedelta(minutes=100)).isoformat(
        timespec="microseconds"
    )


def test_the_case_id_follows_from_the_report_id() -> None:
    report_id = uuid.uuid4()
    assert case_id_for(report_id) == case_id_for(report_id)
    assert case_id_for(report_id) != case_id_for(uuid.uuid4())


def test_a_case_is_a_fold_over_its_events(registry: Registry) -> None:
    report = report_envelope(registry)
    opened = registry.stamp(
        open_case(report, NOW)[0],
        stream_id="case-x",
        stream_version=1,
        recorded_at=NOW,
        trace={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )
    case = replay([opened])
    assert case is not None
    assert case.status == "open"
    assert case.version == 1
    assert case.report_id == uuid.UUID(report.payload["report_id"])
    assert case.trace_id == "a" * 32
    assert replay([]) is None
