"""Compile options shared by the numba kernels (:mod:`magcore.kernels`,
:mod:`magcore.linalg`, the tmd model), and the log lines of their one-time compilation."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from numba import config as numba_config
from numba import njit
from numba.core import event

kernel = njit(cache=True, error_model="numpy")
"""Compile options of every kernel: cached machine code; IEEE division (every division by a
possibly vanishing quantity is guarded explicitly, so Python's ZeroDivisionError checks are
dropped).  No fast-math flags, not even FMA contraction: with strict IEEE arithmetic the packed
SIMD and the scalar code of a loop round identically, so results are bit-for-bit the same
whatever the compiler decides to inline or vectorise, in a process that compiled the kernels and
in one that loaded them from the cache (with contraction they were not: the Dask worker-count
test caught it).  Contraction gave no measurable speed here (benchmarks/README.md)."""

EPS = float(np.finfo(float).eps)

COLD_COMPILE_SECONDS = {"two-band models": 10, "models with more bands": 80}
"""The one-time compilation on a cold cache, measured once as CPU time (the wall time on idle
cores; on this 2-core machine busy with other work it took 2.5 to 3 times longer): 9 s for the
default study's bands and sphere kernels, then 72 s more for the six-band lane kernels of the
tmd model.  The compile log line states these as the time to expect."""

log = logging.getLogger("magcore.numba")
log.setLevel(logging.INFO)  # also in Dask workers, whose root logger passes only warnings


ANNOUNCEMENT = "compiling the numba kernels once (about %s on idle cores; cached in %s)"
"""The log line before the first compilation of a process."""


def cache_folders() -> str:
    """Where numba keeps the compiled kernels: ``NUMBA_CACHE_DIR``, else the ``__pycache__``
    folders of the package."""
    return numba_config.CACHE_DIR or str(Path(__file__).resolve().parent / "**" / "__pycache__")


def expected_compile_time() -> str:
    """The measured cold-compile times, as the log states them."""
    return ", ".join(f"{seconds} s for {models}" for models, seconds in COLD_COMPILE_SECONDS.items())


class CompileLog(event.Listener):
    """Logs a cache miss of a numba kernel: before the first compilation of the process, that
    the kernels are compiled once and how long it takes; after each outermost compilation, the
    kernel and the wall and CPU time it took.  Loading from the cache logs nothing."""

    def __init__(self) -> None:
        self.depth = 0
        self.announced = False
        self.seconds = 0.0
        self._wall = self._cpu = 0.0

    def on_start(self, ev: event.Event) -> None:
        if self.depth == 0:
            if not self.announced:
                self.announced = True
                log.info(ANNOUNCEMENT, expected_compile_time(), cache_folders())
            self._wall, self._cpu = time.monotonic(), time.process_time()
        self.depth += 1

    def on_end(self, ev: event.Event) -> None:
        self.depth -= 1
        if self.depth == 0:
            wall = time.monotonic() - self._wall
            self.seconds += wall
            log.info("compiled %s in %.0f s (%.0f s CPU)", ev.data["dispatcher"].py_func.__name__, wall,
                     time.process_time() - self._cpu)


class _AnnounceOnce(logging.Filter):
    """Passes the announcement once per process: each Dask worker sends its own (forwarded to
    the stage's log by :func:`magcore.stages.forward_worker_logs`)."""

    seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(ANNOUNCEMENT[:20]):
            return True
        seen, self.seen = self.seen, True
        return not seen


log.addFilter(_AnnounceOnce())
COMPILE_LOG = CompileLog()
"""The listener of this process (registered on import)."""
event.register("numba:compile", COMPILE_LOG)
