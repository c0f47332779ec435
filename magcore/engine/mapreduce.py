"""Map over (chunks of items) x (blocks of work per chunk), reduce each chunk in a fixed order.

The one driver of every long computation (sphere maps, domain walls, LLG sweeps): chunks of
items (magnetization points, wall positions, trajectories) times blocks of work per chunk
(k-mesh blocks, or one block), run here or on a ``distributed.Client``; each chunk's block
results are reduced in block order however they finish, so the result does not depend on the
worker count; finished chunks are kept in :class:`~magcore.engine.checkpoints.ChunkCheckpoints`
and skipped on a rerun; progress is logged with rate and time left.  It knows no physics: a
task returns whatever the caller's ``reduce`` takes, and a chunk result is a dict of arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .checkpoints import ChunkCheckpoints
from .progress import Progress

log = logging.getLogger("magcore.engine")


@dataclass(frozen=True)
class Chunk:
    """One chunk of items: the arguments its tasks get, and the item range it covers."""

    args: tuple
    items: slice


def chunks_of(n_items: int, size: int, args: Callable[[slice], tuple]) -> list[Chunk]:
    """Consecutive chunks of ``size`` items (the last one shorter); ``args(items)`` gives a
    chunk's task arguments."""
    if size <= 0:
        raise ValueError(f"chunk size must be positive, got {size}")
    out = []
    for start in range(0, n_items, size):
        items = slice(start, min(start + size, n_items))
        out.append(Chunk(args(items), items))
    return out


def _single(parts: list) -> Any:
    return parts[0]


def map_reduce(task: Callable, chunks: Sequence[Chunk], blocks: Sequence[tuple] = ((),), *,
               shared: tuple = (), reduce: Callable[[list], dict[str, np.ndarray]] = _single,
               n_items: int | None = None, client=None, checkpoints: ChunkCheckpoints | None = None,
               label: str = "tasks", progress_every: float = 5.0) -> list[dict[str, np.ndarray]]:
    """The result of every chunk, ``reduce([task(*shared, *chunk.args, *block) for block in
    blocks])``, in chunk order.

    ``shared`` arguments are sent to the workers once (scattered); with ``checkpoints`` the
    finished chunks are loaded instead of computed, and each chunk is saved as it finishes,
    with its item range (checked for overlaps, and against ``n_items`` once all are done).
    """
    results: list[dict | None] = [None] * len(chunks)
    if checkpoints is not None:
        checkpoints.set_total(len(chunks))
        results = [checkpoints.load(c) for c in range(len(chunks))]
        done_before = sum(r is not None for r in results)
        if done_before:
            log.info("%s: resuming, %d/%d chunks already done", label, done_before, len(chunks))
    todo = [c for c, r in enumerate(results) if r is None]
    progress = Progress(label, len(todo) * len(blocks), progress_every)

    def finish(c: int, parts: list) -> None:
        results[c] = reduce(parts)
        if checkpoints is not None:
            checkpoints.save(c, results[c], points=chunks[c].items)

    if client is None:
        for c in todo:
            parts = []
            for block in blocks:
                parts.append(task(*shared, *chunks[c].args, *block))
                progress.step()
            finish(c, parts)
    elif todo:
        from distributed import as_completed

        # unique keys (hash=False): safe when one client serves several calls
        shared_f = [client.scatter([x], broadcast=True, hash=False)[0] for x in shared]
        futures = {}
        for c in todo:
            for b, block in enumerate(blocks):
                futures[client.submit(task, *shared_f, *chunks[c].args, *block, pure=False)] = (c, b)
        pending: dict[int, dict[int, Any]] = {c: {} for c in todo}
        for fut in as_completed(futures):
            c, b = futures[fut]
            pending[c][b] = fut.result()
            fut.release()
            progress.step()
            if len(pending[c]) == len(blocks):
                parts = pending.pop(c)
                finish(c, [parts[i] for i in range(len(blocks))])
    if checkpoints is not None:
        checkpoints.check_disjoint(n_items)
    return results  # type: ignore[return-value]
