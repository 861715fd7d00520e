"""Who read what: every read of a case (the case, its events, its timeline, its
notifications) and every page of a list is recorded, with the unit, its role and state, what
was read and the request's trace id, in the service's append-only `access_log`, and
published to the access topic through the outbox. Recorded before the answer goes out: a
read that cannot be recorded is not served."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from prahari_events.auth import Unit
from prahari_events.db import Conn
from prahari_events.telemetry import current_carrier


def _trace_id() -> str | None:
    parts = current_carrier().get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 else None


# The access-log row and its outbox row in one statement: a read is logged and published
# together or not at all (the relay publishes it at least once; `id` tells copies apart).
# A CloudEvent like every event (docs/versioning.md): type prahari.access.read.
_RECORD = (
    "WITH logged AS (INSERT INTO access_log (unit_id, role, kind, state, district, what,"
    " case_id, detail, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *)"
    " INSERT INTO outbox (event_id, topic, key, value, headers)"
    " SELECT e.id, $10, coalesce(l.case_id::text, l.unit_id),"
    " convert_to(jsonb_build_object('service', $11::text, 'id', l.id, 'at', l.at,"
    " 'unit_id', l.unit_id, 'role', l.role, 'kind', l.kind, 'state', l.state,"
    " 'district', l.district, 'what', l.what, 'case_id', l.case_id, 'detail', l.detail,"
    " 'trace_id', l.trace_id)::text, 'UTF8'),"
    " jsonb_build_array(jsonb_build_array('ce_specversion', '1.0'),"
    " jsonb_build_array('ce_id', e.id::text), jsonb_build_array('ce_type', 'access.read'),"
    " jsonb_build_array('ce_source', '/prahari/' || $11::text),"
    " jsonb_build_array('ce_time', to_char(l.at AT TIME ZONE 'UTC',"
    ' \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\')),'
    " jsonb_build_array('ce_subject', coalesce(l.case_id::text, l.unit_id)),"
    " jsonb_build_array('content-type', 'application/json'))"
    " FROM logged l, (SELECT gen_random_uuid() AS id) e,"
    " (SELECT pg_notify('prahari_outbox', current_schema())) AS wake"
)


class AccessLog:
    """A service's access log: each read goes to its table and to the access topic."""

    def __init__(self, service: str, topic: str) -> None:
        self._service = service
        self._topic = topic

    async def record(
        self,
        db: Conn | asyncpg.Pool,
        unit: Unit,
        what: str,
        *,
        case_id: uuid.UUID | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        await db.execute(
            _RECORD,
            unit.unit_id,
            unit.role,
            unit.kind,
            unit.state,
            unit.district,
            what,
            case_id,
            dict(detail or {}),
            _trace_id(),
            self._topic,
            self._service,
        )


READS = web.AppKey("reads", AccessLog)
