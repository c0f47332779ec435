"""Fault injection for the interruption tests (no effect unless the test sets the variable).

``MAGCORE_HOLD_AT=<window>[@<n>]`` makes the process stop at that window of a write (once at
least ``n`` chunks are finished, if given): it creates ``<path>.held`` to announce it and then
waits, so that a test can ``kill -9`` it at exactly that moment.  Windows:
``checkpoint-write`` (a chunk file written, not yet renamed), ``store-rename:<store name>``
(a store renamed into place, its stage not yet returned to Snakemake) and
``sweep-store-rename:<store name>`` (a stacked sweep store renamed into place by
:func:`magcore.sweep_store.stack_stores`: a sweep point's store or a combined store, its job not
yet returned to Snakemake).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable


def hold_for_test(window: str, path: str | Path, count: Callable[[], int] | None = None) -> None:
    wanted = os.environ.get("MAGCORE_HOLD_AT")
    if not wanted:
        return
    name, _, n = wanted.partition("@")
    if name != window or (n and (count is None or count() < int(n))):
        return
    Path(f"{path}.held").touch()
    while True:
        time.sleep(0.1)
