"""prahari-audit's progress line: rate and ETA from an injected clock, on stderr only."""

from __future__ import annotations

import io

from prahari_audit.progress import Progress


def test_the_progress_line_shows_count_rate_and_eta() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress("verify cases", 1000, stream=out, shown=True, clock=lambda: now[0])
    now[0] = 2.0
    progress.advance(250)
    assert progress.line() == "verify cases: 250/1,000 (25%)  125/s  ETA 6 s"
    progress.close()
    assert out.getvalue().endswith("\n")


def test_nothing_is_written_when_not_shown() -> None:
    out = io.StringIO()
    progress = Progress("verify cases", 10, stream=out, shown=False)
    progress.advance(10)
    progress.close()
    assert out.getvalue() == ""
