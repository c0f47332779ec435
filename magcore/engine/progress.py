"""Progress of a long computation in the log: tasks done of total, rate and time left."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("magcore.engine")


class Progress:
    """Counts finished tasks and logs ``<label>: done/total tasks (pct), rate, time left`` at
    most every ``every`` seconds, and always at the last task."""

    def __init__(self, label: str, total: int, every: float = 5.0):
        self.label, self.total, self.every = label, int(total), float(every)
        self.done = 0
        self._start = self._last = time.monotonic()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done == self.total or now - self._last >= self.every:
            self._last = now
            rate = self.done / max(now - self._start, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("%s: %d/%d tasks (%.0f%%), %.2f tasks/s, ~%.0f s left", self.label, self.done, self.total,
                     100 * self.done / max(self.total, 1), rate, left)
