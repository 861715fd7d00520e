"""Which provider to try, and the circuit breaker that skips one that keeps failing. Pure:
the time is passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Breaker:
    """Opens after `threshold` failures in a row and stays open `cooldown_s`; then one trial
    is let through (half-open): a success closes it, a failure opens it again."""

    threshold: int
    cooldown_s: float
    failures: int = 0
    open_until: datetime | None = None
    trial: bool = False

    def allows(self, now: datetime) -> bool:
        if self.open_until is None:
            return True
        if now < self.open_until:
            return False
        # Half-open: this caller is the trial; the next one waits another cool-down unless
        # the trial succeeds (a trial that never reports back cannot wedge it shut).
        self.trial = True
        self.open_until = now + timedelta(seconds=self.cooldown_s)
        return True

    def record(self, ok: bool, now: datetime) -> None:
        if ok:
            self.failures, self.open_until, self.trial = 0, None, False
            return
        self.failures += 1
        if self.trial or self.failures >= self.threshold:
            self.open_until = now + timedelta(seconds=self.cooldown_s)
            self.trial = False

    def state(self, now: datetime) -> str:
        if self.open_until is None:
            return "closed"
        return "half-open" if self.trial or now >= self.open_until else "open"


def choose(
    providers: Sequence[str],
    *,
    pinned: str | None,
    last_failed: str | None,
    allows: Callable[[str], bool],
) -> str | None:
    """The provider for the next attempt, or None to wait for a breaker to close.

    A pinned provider (one that may hold the message) is the only choice: anything else
    could send it twice. Otherwise the first allowed provider, starting after the one that
    just refused it, so a fallback is used only after a definite failure or while the
    primary's breaker is open."""
    if pinned is not None:
        return pinned if pinned in providers and allows(pinned) else None
    start = providers.index(last_failed) + 1 if last_failed in providers else 0
    for offset in range(len(providers)):
        name = providers[(start + offset) % len(providers)]
        if allows(name):
            return name
    return None
