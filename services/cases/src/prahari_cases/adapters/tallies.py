"""The seizure tally tables: recording a seizure record, and the totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from prahari_cases.domain.tallies import DIMENSIONS, UNITS, SeizureItem
from prahari_events.db import Conn


async def record(conn: Conn, item: SeizureItem) -> None:
    await conn.execute(
        "SELECT record_seizure($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        item.item_id,
        item.same_as,
        item.key,
        item.source,
        item.state,
        item.district,
        item.day,
        item.category,
        item.unit,
        item.quantity,
        item.value_inr,
        item.agency,
    )


async def forget(conn: Conn) -> None:
    await conn.execute("TRUNCATE seizures, seizure_items")


@dataclass(frozen=True, slots=True)
class TallyQuery:
    group_by: Sequence[str]  # a subset of DIMENSIONS
    state: int | None = None
    district: int | None = None
    day_from: date | None = None
    day_to: date | None = None


async def totals(pool: asyncpg.Pool, query: TallyQuery) -> list[dict[str, Any]]:
    """One row per combination of the chosen dimensions: seizures, rupees, and the quantity
    in each physical unit, with every agency that recorded them."""
    dims = [d for d in DIMENSIONS if d in query.group_by]  # only known names reach the SQL
    select = "".join(f"{d}, " for d in dims)
    group = f"GROUP BY {', '.join(dims)}" if dims else ""
    quantities = ", ".join(
        f"sum(quantity) FILTER (WHERE unit = '{unit}') AS {unit}" for unit in UNITS
    )
    # One pass, hash-grouped; the agencies travel as text and are made distinct below.
    rows = await pool.fetch(
        f"SELECT {select}count(*) AS seizures, sum(value_inr)::bigint AS value_inr,"
        f" {quantities}, string_agg(array_to_string(agencies, ','), ',') AS agencies"
        " FROM seizures"
        " WHERE ($1::integer IS NULL OR state = $1) AND ($2::integer IS NULL OR district = $2)"
        " AND ($3::date IS NULL OR day >= $3) AND ($4::date IS NULL OR day <= $4)"
        f" {group} ORDER BY {', '.join(dims) or 'seizures'}",
        query.state,
        query.district,
        query.day_from,
        query.day_to,
    )
    out = []
    for row in rows:
        if row["seizures"] == 0:
            continue  # nothing picked: no row, rather than a row of nulls
        entry: dict[str, Any] = {d: row[d] for d in dims}
        entry["seizures"] = row["seizures"]
        entry["value_inr"] = row["value_inr"]
        entry["quantity"] = {u: float(row[u]) for u in UNITS if row[u] is not None}
        entry["agencies"] = sorted(set((row["agencies"] or "").split(",")) - {""})
        out.append(entry)
    return out
