"""Dask ``distributed`` clients for the heavy k-integrals.

By default a local cluster with one single-threaded worker process per Snakemake thread, the
dashboard bound to 127.0.0.1 and BLAS pinned to one thread in each worker (the kernels are
already parallel over workers; nested BLAS threads would oversubscribe the cores).  Given a
scheduler address, connect to that cluster instead.
"""

from __future__ import annotations

import contextlib
import logging

import dask

log = logging.getLogger(__name__)

_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


@contextlib.contextmanager
def dask_client(n_workers: int = 1, *, address: str | None = None, memory_limit: str | int | None = "auto"):
    """Context manager yielding a ``distributed.Client``.

    ``address``: connect to an existing scheduler; otherwise start a ``LocalCluster`` of
    ``n_workers`` single-threaded processes on 127.0.0.1 (dashboard on a free localhost port).
    """
    from distributed import Client, LocalCluster

    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    if address:
        log.info("connecting to Dask scheduler at %s", address)
        with Client(address) as client:
            yield client
        return
    with dask.config.set({"distributed.nanny.pre-spawn-environ": _SINGLE_THREAD_ENV,
                          "distributed.worker.daemon": False}):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address="127.0.0.1:0",
                          memory_limit=memory_limit, silence_logs=logging.WARNING) as cluster:
            with Client(cluster) as client:
                log.info("local Dask cluster: %d worker(s), dashboard %s", n_workers, client.dashboard_link)
                yield client
