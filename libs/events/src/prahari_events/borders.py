"""Border pairs: the districts that face each other across a state border (data/borders/,
with each pair's source). Reference data like the LGD codes: cases keeps a standing thread
per pair, and a pair's control rooms on both sides are its members.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from importlib import resources

from prahari_events.errors import ConfigError
from prahari_events.lgd import Directory
from prahari_events.policy import Area

_NAMESPACE = uuid.UUID("6f1c1f0e-5b8e-4c39-9a34-7d0f4a3e9b21")  # for pair ids


@dataclass(frozen=True, slots=True)
class BorderPair:
    up: Area  # the Uttar Pradesh side
    other: Area  # the neighbouring state's side
    source: str
    reviewed: bool

    @property
    def pair_id(self) -> uuid.UUID:
        """A stable id for the pair (the same from any process, from either side)."""
        sides = sorted((area.state, area.district) for area in (self.up, self.other))
        return uuid.uuid5(_NAMESPACE, repr(sides))

    def includes(self, area: Area) -> bool:
        return area in (self.up, self.other)


def load_pairs(places: Directory, text: str | None = None) -> list[BorderPair]:
    """The pairs of data/borders/pairs.csv (or of `text`), checked against the LGD codes:
    ConfigError naming each bad row, so a wrong correction never reaches a running service."""
    if text is None:
        base = resources.files("prahari_events") / "data" / "borders"
        text = (base / "pairs.csv").read_text(encoding="utf-8")
    pairs: list[BorderPair] = []
    problems: list[str] = []
    seen: set[uuid.UUID] = set()
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            up = Area(int(row["up_state"]), int(row["up_district"]))
            other = Area(int(row["other_state"]), int(row["other_district"]))
        except (TypeError, ValueError):
            problems.append(f"line {line}: codes must be integers")
            continue
        for side in (up, other):
            for field, errors in places.problems(side.state, side.district).items():
                problems.append(f"line {line}: {field}: {'; '.join(errors)}")
        if up.state == other.state:
            problems.append(f"line {line}: both districts are in state {up.state}")
        if not (row.get("source") or "").strip():
            problems.append(f"line {line}: no source")
        pair = BorderPair(up, other, row["source"], row.get("reviewed") == "yes")
        if pair.pair_id in seen:
            problems.append(f"line {line}: the pair is listed twice")
        seen.add(pair.pair_id)
        pairs.append(pair)
    if problems:
        raise ConfigError("border pairs: " + "; ".join(problems))
    return pairs
