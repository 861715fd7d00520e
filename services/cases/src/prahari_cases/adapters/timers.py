"""The case_timers table: one row per running deadline, kept by save_case_view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from prahari_events.db import Conn


@dataclass(frozen=True, slots=True)
class Timer:
    case_id: uuid.UUID
    stage: str
    due_at: datetime


async def claim_due(conn: Conn, now: datetime, limit: int) -> list[Timer]:
    """Due timers, locked for this transaction; timers another process holds are skipped,
    so two processes never fire the same one."""
    rows = await conn.fetch(
        "SELECT case_id, stage, due_at FROM case_timers WHERE due_at <= $1"
        " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [Timer(r["case_id"], r["stage"], r["due_at"]) for r in rows]


async def drop(conn: Conn, timer: Timer) -> None:
    await conn.execute(
        "DELETE FROM case_timers WHERE case_id = $1 AND stage = $2 AND due_at = $3",
        timer.case_id,
        timer.stage,
        timer.due_at,
    )
