"""k-mesh integrals of per-block partial sums for many points at once, in a fixed order.

The work is (chunks of ``points_per_chunk`` points) x (blocks of ``k_block`` mesh points),
mapped by :func:`~magcore.engine.mapreduce.map_reduce`.  Every task returns the sums of fixed
tiles of :data:`K_TILE` consecutive mesh points (``k_block`` is rounded up to a multiple of
it) and a chunk's tile sums are added one after the other in mesh order, so the result is
bitwise independent of the worker count, ``points_per_chunk`` and ``k_block``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .checkpoints import ChunkCheckpoints
from .mapreduce import chunks_of, map_reduce

K_TILE = 2048
"""Mesh points per tile: the unit of the k-sums' association order."""


def _tile_sums(partial_sums, model, state, point_args, q, w) -> list[dict[str, np.ndarray]]:
    """``partial_sums`` over each tile of K_TILE points of the block ``q``, ``w`` (one task)."""
    return [partial_sums(model, *point_args, q[s:s + K_TILE], w[s:s + K_TILE], state)
            for s in range(0, len(q), K_TILE)]


def sum_in_order(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Key-wise sum of dicts of arrays, added one after the other in list order."""
    out = {key: np.array(parts[0][key], copy=True) for key in parts[0]}
    for part in parts[1:]:
        for key in out:
            out[key] = out[key] + part[key]
    return out


def _sum_tiles(parts: list[list[dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    return sum_in_order([tile for part in parts for tile in part])


def integrate_over_mesh(partial_sums: Callable[..., dict[str, np.ndarray]], model: Any, points: np.ndarray,
                        mesh, state: Any, *, per_point: tuple[np.ndarray, ...] = (), client=None,
                        points_per_chunk: int = 64, k_block: int = 4096, progress_every: float = 5.0,
                        checkpoints: ChunkCheckpoints | None = None, label: str = "k-integrals"
                        ) -> dict[str, np.ndarray]:
    """Sum over the mesh of ``partial_sums(model, points_chunk, *per_point_chunks, q, w, state)``
    for all ``points`` (P, ...), concatenated over the points.

    ``partial_sums`` returns a dict of arrays with one row per point of its chunk; ``q`` (K, dim)
    and ``w`` (K,) are a tile of ``mesh.points`` and ``mesh.weights``; ``per_point`` arrays have
    one row per point and are chunked alongside ``points``; ``model`` and ``state`` are passed
    through (sent to Dask workers once).
    """
    if points_per_chunk <= 0 or k_block <= 0:
        raise ValueError("points_per_chunk and k_block must be positive")
    points = np.asarray(points, dtype=float)
    chunks = chunks_of(len(points), points_per_chunk,
                       lambda items: ((points[items], *(x[items] for x in per_point)),))
    blocks = list(mesh.blocks(-(-k_block // K_TILE) * K_TILE))
    results = map_reduce(_tile_sums, chunks, blocks, shared=(partial_sums, model, state), reduce=_sum_tiles,
                         n_items=len(points), client=client, checkpoints=checkpoints, label=label,
                         progress_every=progress_every)
    return {key: np.concatenate([r[key] for r in results]) for key in results[0]}
