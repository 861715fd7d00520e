"""Every event on Kafka is a CloudEvent (1.0, Kafka protocol binding, binary mode): its
attributes in `ce_` headers, the envelope as its data, and the older `event-*` headers kept
for the consumers that read them."""

from __future__ import annotations

from datetime import datetime

import pytest

from prahari_events.catalogue import build_registry, source_of
from prahari_events.kafka import envelope_headers
from tests.factories import report_envelope


@pytest.mark.parametrize(
    ("event_type", "source"),
    [("report.received", "/prahari/intake"), ("case.opened", "/prahari/cases"),
     ("notification.sent", "/prahari/notify"), ("sms.reply_requested", "/prahari/intake")],
)  # fmt: skip
def test_the_source_is_the_producing_service(event_type: str, source: str) -> None:
    assert source_of(event_type) == source


def test_a_report_carries_every_required_and_used_cloudevents_attribute() -> None:
    envelope = report_envelope(build_registry())
    headers = {k: v.decode() for k, v in envelope_headers(envelope)}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(envelope.event_id)
    assert headers["ce_type"] == "report.received"
    assert headers["ce_source"] == "/prahari/intake"
    assert headers["ce_subject"] == envelope.stream_id
    assert headers["ce_dataschema"] == f"urn:prahari:event:report.received:v{envelope.version}"
    assert headers["content-type"] == "application/json"
    # RFC 3339, the moment it happened (not when it was recorded).
    assert datetime.fromisoformat(headers["ce_time"]) == envelope.occurred_at
    assert headers["ce_time"].endswith("+00:00")
    # The headers existing consumers route by stay until a release removes them.
    assert (headers["event-type"], headers["event-id"]) == ("report.received", headers["ce_id"])
