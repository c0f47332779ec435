"""What a long computation says in its log: progress (done of total, rate and time left) and,
at the end, a summary of the warnings it gave."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("magcore.engine")


class Progress:
    """Counts finished work and logs ``<label>: done/total <unit> (pct), rate, time left`` at
    most every ``every`` seconds, and at the end unless ``last_line`` is False."""

    def __init__(self, label: str, total: int, every: float = 5.0, *, unit: str = "tasks", last_line: bool = True):
        self.label, self.total, self.every, self.unit = label, int(total), float(every), unit
        self.last_line = last_line
        self.done: float = 0
        self.note = ""
        self._start = self._last = time.monotonic()

    def step(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.update(self.done + n)

    def update(self, done: float, note: str = "") -> None:
        """``done`` units done in all (may be fractional); ``note`` ends the line if given."""
        self.done, self.note = done, note
        now = time.monotonic()
        finished = self.done >= self.total
        if (finished and self.last_line) or (not finished and now - self._last >= self.every):
            self._last = now
            self._log(now)

    def _log(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        done = f"{self.done:d}" if isinstance(self.done, int) else f"{self.done:.1f}"
        log.info("%s: %s/%d %s (%.0f%%), %.2f %s/s, ~%.0f s left%s", self.label, done, self.total, self.unit,
                 100 * self.done / max(self.total, 1), rate, self.unit, left, f"; {self.note}" if self.note else "")


WARNING_SUMMARY = "warnings of this stage:"
"""First words of the summary line :class:`WarningSummary` logs (and :func:`warning_summary_in` finds)."""


class WarningSummary(logging.Handler):
    """Collects the distinct messages of the WARNING (and worse) records it handles, in order,
    with how often each came; :meth:`log` writes them as one summary record."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        self.counts[message] = self.counts.get(message, 0) + 1

    def text(self) -> str:
        """``warnings of this stage: N`` then one indented line per distinct message."""
        lines = [f"{WARNING_SUMMARY} {sum(self.counts.values())}"]
        lines += [f"  {message}" + (f" (x{n})" if n > 1 else "") for message, n in self.counts.items()]
        return "\n".join(lines)

    def log(self, logger: logging.Logger) -> None:
        """The summary as one INFO record of ``logger``."""
        logger.info("%s", self.text())


def warning_summary_in(log_text: str) -> list[str] | None:
    """The warning lines of the last summary in a log's text (None if it has none)."""
    lines = log_text.splitlines()
    starts = [i for i, line in enumerate(lines) if WARNING_SUMMARY in line]
    if not starts:
        return None
    found = []
    for line in lines[starts[-1] + 1:]:
        if not line.startswith("  "):
            break
        found.append(line.strip())
    return found
