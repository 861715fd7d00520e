"""A progress line on stderr, with rate and ETA, for anything that can take more than a few
seconds (verifying or exporting an election's history). Shown only on a terminal, or when
asked for; stdout stays the answer alone."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(
        self,
        what: str,
        total: int,
        *,
        stream: TextIO | None = None,
        shown: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 0.25,
    ) -> None:
        self._what = what
        self.total = total
        self._stream = stream or sys.stderr
        self.shown = self._stream.isatty() if shown is None else shown
        self._clock = clock
        self._every = every_s
        self._start = clock()
        self._last = float("-inf")
        self.done = 0

    def line(self) -> str:
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{left:.0f} s" if left != float("inf") else "?"
        return (
            f"{self._what}: {self.done:,}/{self.total:,} ({self.done / max(self.total, 1):.0%})"
            f"  {rate:,.0f}/s  ETA {eta}"
        )

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self._clock()
        if self.shown and now - self._last >= self._every:
            self._last = now
            self._stream.write("\r" + self.line())
            self._stream.flush()

    def close(self) -> None:
        if self.shown:
            self._stream.write("\r" + self.line() + "\n")
            self._stream.flush()
