"""The worst of a measure lately: of this window and the one before it (a wait told
"lately" stays told for a window or two, then is forgotten)."""

from __future__ import annotations


class RecentWorst:
    def __init__(self, window: float) -> None:
        self.window = window
        self._worst = 0.0  # this window's
        self._previous = 0.0  # the window before's
        self._started = 0.0

    def note(self, value: float, now: float) -> None:
        self._roll(now)
        if value > self._worst:
            self._worst = value

    def worst(self, now: float) -> float:
        self._roll(now)
        return max(self._worst, self._previous)

    def _roll(self, now: float) -> None:
        elapsed = now - self._started
        if elapsed >= self.window:
            self._previous = self._worst if elapsed < 2 * self.window else 0.0
            self._worst, self._started = 0.0, now
