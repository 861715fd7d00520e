"""Small builders for test data. Names and codes are real LGD codes: Uttar Pradesh is 9,
Sonbhadra 184, Chandauli 135; Bihar is 10."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prahari_events.auth import Unit
from prahari_events.catalogue import REPORT_RECEIVED
from prahari_events.envelope import Draft, Envelope, Jurisdiction
from prahari_events.registry import Registry

UP, SONBHADRA, CHANDAULI, BIHAR = 9, 184, 135, 10

STATION = Unit("UP-SON-PS-ROBERTSGANJ", "police_station", "reporter", UP, SONBHADRA)
OTHER_STATION = Unit("UP-CHA-PS-MUGHALSARAI", "police_station", "reporter", UP, CHANDAULI)
STATE_ROOM = Unit("UP-SCR", "state_control_room", "control_room", UP, None)
BIHAR_ROOM = Unit("BR-SCR", "state_control_room", "control_room", BIHAR, None)
AUDITOR = Unit("ECI-AUDIT-1", "audit_office", "auditor", None, None)


def report_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "report_id": str(uuid.uuid4()),
        "report_type": "smuggling_tip",
        "description": "बिहार सीमा पर अवैध शराब से भरा ट्रक (truck with illicit liquor)",
        "state": UP,
        "district": SONBHADRA,
        "occurred_at": None,
        "details": {},
        "source": None,
    }
    payload.update(overrides)
    return payload


def report_draft(unit: Unit = STATION, **overrides: Any) -> Draft:
    payload = report_payload(**overrides)
    return Draft(
        type=REPORT_RECEIVED,
        payload=payload,
        actor=unit.actor(),
        jurisdiction=Jurisdiction(payload["state"], payload["district"]),
        correlation_id=uuid.UUID(payload["report_id"]),
    )


def report_envelope(registry: Registry, unit: Unit = STATION, **overrides: Any) -> Envelope:
    draft = report_draft(unit, **overrides)
    return registry.stamp(
        draft,
        stream_id=f"report-{draft.payload['report_id']}",
        stream_version=1,
        recorded_at=datetime.now(UTC),
        trace={},
    )
