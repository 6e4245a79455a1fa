"""Counting requests per key (a web chat session, a client address) in fixed one-minute windows, in this
process's memory: enough to stop one client flooding a worker; with several workers each counts its own."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimit:
    """At most `per_minute` hits per key in each minute; memory is bounded by pruning finished windows."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.per_minute, self.clock, self.max_keys = per_minute, clock, max_keys
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, hits)

    def hit(self, key: str) -> float:
        """Count a hit; 0 when it is allowed, else the seconds until the key's window ends."""
        now = self.clock()
        start, hits = self._windows.get(key, (now, 0))
        if now - start >= 60:
            start, hits = now, 0
        if hits >= self.per_minute:
            return 60 - (now - start)
        if key not in self._windows and len(self._windows) >= self.max_keys:
            self._prune(now)
        self._windows[key] = (start, hits + 1)
        return 0.0

    def _prune(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < 60}
        while len(self._windows) >= self.max_keys:  # all busy: forget the oldest
            self._windows.pop(next(iter(self._windows)))
