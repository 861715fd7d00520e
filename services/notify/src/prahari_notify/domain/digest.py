"""Digests: fifty reports linked to one rumour case do not send fifty SMS to one control
room. The first follow-up about a case to a recipient goes at once and opens a window;
follow-ups inside the window are held, and at its end go out as one digest, which opens the
next window. A window that ends with nothing held closes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Window:
    ends_at: datetime
    held: int


def on_follow_up(window: Window | None, now: datetime, window_s: float) -> tuple[bool, Window]:
    """(send now?, the window after this follow-up)."""
    if window is None or (now >= window.ends_at and window.held == 0):
        return True, Window(now + timedelta(seconds=window_s), 0)
    return False, Window(window.ends_at, window.held + 1)


def at_window_end(window: Window, now: datetime, window_s: float) -> tuple[int, Window | None]:
    """(how many follow-ups the digest stands for, 0 for none; the window after it)."""
    if now < window.ends_at:
        return 0, window
    if window.held == 0:
        return 0, None
    return window.held, Window(now + timedelta(seconds=window_s), 0)
