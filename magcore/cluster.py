"""Dask ``distributed`` clients for the heavy k-integrals.

By default a local cluster with one single-threaded worker process per Snakemake thread, the
dashboard bound to 127.0.0.1 and BLAS pinned to one thread in each worker (the kernels are
already parallel over workers; nested BLAS threads would oversubscribe the cores).  Given a
scheduler address, connect to that cluster instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Mapping

import dask

from .settings import ComputeSettings, SlurmSettings

log = logging.getLogger(__name__)

_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def slurm_cluster_kwargs(slurm: SlurmSettings | Mapping) -> dict:
    """dask_jobqueue.SLURMCluster keyword arguments from the config's compute.slurm settings
    (or the validated section): one single-threaded worker process per core, BLAS pinned,
    dashboard on localhost. The worker jobs are named ``magcore-dask``; started from a SLURM job
    (the ``sphere`` job of the SLURM profile), their comment is ``dask-workers-of-<its job id>``."""
    if isinstance(slurm, Mapping):
        slurm = SlurmSettings.from_section(slurm)
    kwargs = {
        "job_name": "magcore-dask",
        "cores": slurm.cores,
        "processes": slurm.cores,
        "memory": slurm.memory,
        "walltime": slurm.walltime,
        "job_script_prologue": [f"export {k}={v}" for k, v in _SINGLE_THREAD_ENV.items()],
        "scheduler_options": {"dashboard_address": "127.0.0.1:0"},
    }
    parent = os.environ.get("SLURM_JOB_ID")
    if parent and parent.isdigit():  # started from a SLURM job: say which, in the workers' comment
        kwargs["job_extra_directives"] = [f"--comment=dask-workers-of-{parent}"]
    if slurm.queue:
        kwargs["queue"] = slurm.queue
    if slurm.account:
        kwargs["account"] = slurm.account
    return kwargs


@contextlib.contextmanager
def dask_client_from_config(compute: ComputeSettings | Mapping, threads: int = 1, mem_mb: int | None = None):
    """The Dask client a stage should use, from the config's ``compute`` settings (or the
    validated section; see ``compute.dask_cluster`` in the schema)."""
    if isinstance(compute, Mapping):
        compute = ComputeSettings.from_section(compute)
    if compute.dask_cluster == "scheduler":
        if not compute.dask_scheduler:
            raise ValueError("compute.dask_cluster is 'scheduler' but compute.dask_scheduler is not set")
        with dask_client(address=compute.dask_scheduler) as client:
            yield client
    elif compute.dask_cluster == "slurm":
        from dask_jobqueue import SLURMCluster
        from distributed import Client

        slurm = compute.slurm
        with SLURMCluster(**slurm_cluster_kwargs(slurm)) as cluster:
            cluster.scale(jobs=slurm.jobs)
            with Client(cluster) as client:
                log.info("dask-jobqueue SLURM cluster: %d job(s) of %d cores", slurm.jobs, slurm.cores)
                yield client
    else:
        # Snakemake mem_mb is in 10^6 bytes; each worker gets an equal share
        limit = "auto" if not mem_mb else max(int(mem_mb * 10**6) // max(threads, 1), 256 * 10**6)
        with dask_client(threads, memory_limit=limit) as client:
            yield client


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
            try:
                with Client(cluster) as client:
                    log.info("local Dask cluster: %d worker(s), dashboard %s", n_workers, client.dashboard_link)
                    yield client
            finally:
                _close_workers(cluster, WORKER_EXIT_SECONDS)


WORKER_EXIT_SECONDS = 60.0
"""How long a local worker process may take to exit before it is killed.  Dask's own close
gives it 4 s, which a loaded machine exceeds (the nanny then logs "killing" and the killed
process leaks its semaphores)."""


def _close_workers(cluster, timeout: float) -> None:
    """Close the workers of a local ``cluster``, each given ``timeout`` seconds to exit."""
    import asyncio

    async def close_all() -> None:
        await asyncio.gather(*(worker.close(timeout=timeout) for worker in list(cluster.workers.values())))

    cluster.sync(close_all)


# ------------------------------------------------------------------------------------------
# the SLURM profile's resources, as the README shows them
# ------------------------------------------------------------------------------------------

SLURM_PROFILE = "workflow/profiles/slurm/config.yaml"
"""The SLURM profile, relative to the repository (the directory holding the Snakefile)."""


def profile_resources(profile: str | None = None) -> list[tuple[str, int, int, int]]:
    """(rule, threads, mem_mb, runtime in minutes) of every rule the SLURM profile sets, in the
    profile's order; rules without their own entry take the profile's default-resources."""
    import yaml
    from pathlib import Path

    path = Path(profile) if profile else Path(__file__).resolve().parents[1] / SLURM_PROFILE
    cfg = yaml.safe_load(path.read_text())
    default = cfg.get("default-resources") or {}
    threads = cfg.get("set-threads") or {}
    resources = cfg.get("set-resources") or {}
    rules = list(dict.fromkeys([*threads, *resources]))
    out = []
    for rule in rules:
        res = {**default, **resources.get(rule, {})}
        out.append((rule, int(threads.get(rule, 1)), int(res["mem_mb"]), int(res["runtime"])))
    return out


def resource_table(profile: str | None = None) -> str:
    """The README's table of the SLURM profile's resources (Markdown), generated from the profile:
    ``python -m magcore.cluster`` prints it."""
    lines = ["| rule | threads | mem_mb | runtime (min) |", "|---|---|---|---|"]
    lines += [f"| `{rule}` | {threads} | {mem_mb} | {runtime} |"
              for rule, threads, mem_mb, runtime in profile_resources(profile)]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(resource_table(sys.argv[1] if len(sys.argv) > 1 else None))
