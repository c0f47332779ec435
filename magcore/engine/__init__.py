"""The map/reduce engine: chunks x blocks of work on Dask or here, fixed-order reductions,
chunk checkpoints and progress.  It knows no physics; the stages give it their tasks.

- :mod:`.mapreduce`: :func:`map_reduce` over (chunks of items) x (blocks per chunk);
- :mod:`.mesh_integral`: :func:`integrate_over_mesh`, k-mesh sums in fixed tiles;
- :mod:`.checkpoints`: :class:`ChunkCheckpoints`, finished chunks on disk;
- :mod:`.progress`: :class:`Progress`, tasks done, rate and time left in the log.
"""

from .checkpoints import ChunkCheckpoints, checkpoint_progress, stage_checkpoints
from .mapreduce import Chunk, chunks_of, map_reduce
from .mesh_integral import K_TILE, integrate_over_mesh, sum_in_order
from .progress import Progress

__all__ = ["ChunkCheckpoints", "checkpoint_progress", "stage_checkpoints", "Chunk", "chunks_of", "map_reduce",
           "K_TILE", "integrate_over_mesh", "sum_in_order", "Progress"]
