"""Who read what: every read of a case (the case, its events, its timeline, its
notifications) and every page of a list is recorded, with the unit, its role and state, what
was read and the request's trace id, in the service's append-only `access_log`. Recorded
before the answer goes out: a read that cannot be recorded is not served."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from prahari_events.auth import Unit
from prahari_events.db import Conn
from prahari_events.telemetry import current_carrier


def _trace_id() -> str | None:
    parts = current_carrier().get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 else None


async def record_read(
    db: Conn | asyncpg.Pool,
    unit: Unit,
    what: str,
    *,
    case_id: uuid.UUID | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    await db.execute(
        "INSERT INTO access_log (unit_id, role, kind, state, district, what, case_id, detail,"
        " trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        unit.unit_id,
        unit.role,
        unit.kind,
        unit.state,
        unit.district,
        what,
        case_id,
        dict(detail or {}),
        _trace_id(),
    )
