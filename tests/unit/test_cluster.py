"""Dask clusters from the config: local (sized from the rule), an existing scheduler, SLURM."""

import os

import pytest

from magcore.cluster import dask_client, dask_client_from_config, slurm_cluster_kwargs
from magcore.config import validate


def _env():
    return os.environ.get("OMP_NUM_THREADS"), os.environ.get("OPENBLAS_NUM_THREADS")


def test_local_cluster_pins_blas_and_binds_dashboard_to_localhost():
    compute = validate({})["compute"]
    with dask_client_from_config(compute, threads=2, mem_mb=2000) as client:
        info = client.scheduler_info()
        assert len(info["workers"]) == 2
        assert all(w["nthreads"] == 1 for w in info["workers"].values())
        assert all(w["memory_limit"] == 10**9 for w in info["workers"].values())  # 2000 MB / 2
        assert set(client.run(_env).values()) == {("1", "1")}
        assert "127.0.0.1" in client.dashboard_link
        assert all(addr.startswith("tcp://127.0.0.1") for addr in info["workers"])


def test_existing_scheduler_from_config():
    with dask_client(1) as outer:
        address = outer.scheduler.address
        compute = validate({"compute": {"dask_cluster": "scheduler", "dask_scheduler": address}})["compute"]
        with dask_client_from_config(compute) as client:
            assert client.scheduler.address == address
            assert client.submit(sum, [1, 2, 3]).result() == 6


def test_slurm_job_script_from_config():
    pytest.importorskip("dask_jobqueue")  # declared in the test extra; skipped only outside it
    from dask_jobqueue import SLURMCluster

    slurm = validate({"compute": {"dask_cluster": "slurm",
                                  "slurm": {"queue": "compute", "account": "mag", "cores": 8,
                                            "memory": "16GB", "walltime": "01:00:00", "jobs": 3}}})["compute"]["slurm"]
    with SLURMCluster(**slurm_cluster_kwargs(slurm)) as cluster:
        script = cluster.job_script()
    for line in ("#SBATCH -p compute", "#SBATCH -A mag", "#SBATCH --cpus-per-task=8", "#SBATCH -t 01:00:00",
                 "export OMP_NUM_THREADS=1", "--nworkers 8", "--nthreads 1"):
        assert line in script, (line, script)
