"""Dask clusters from the config: local (sized from the rule), an existing scheduler, SLURM."""

import os
import re
from pathlib import Path

import pytest
import yaml

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


def test_slurm_job_script_from_config(monkeypatch):
    pytest.importorskip("dask_jobqueue")  # declared in the test extra; skipped only outside it
    from dask_jobqueue import SLURMCluster

    slurm = validate({"compute": {"dask_cluster": "slurm",
                                  "slurm": {"queue": "compute", "account": "mag", "cores": 8,
                                            "memory": "16GB", "walltime": "01:00:00", "jobs": 3}}})["compute"]["slurm"]
    with SLURMCluster(**slurm_cluster_kwargs(slurm)) as cluster:
        script = cluster.job_script()
    for line in ("#SBATCH -p compute", "#SBATCH -A mag", "#SBATCH --cpus-per-task=8", "#SBATCH -t 01:00:00",
                 "#SBATCH -J magcore-dask", "export OMP_NUM_THREADS=1", "--nworkers 8", "--nthreads 1"):
        assert line in script, (line, script)
    assert "--comment" not in script or "SLURM_JOB_ID" in os.environ
    # started from a SLURM job, the workers' comment names it
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert slurm_cluster_kwargs(slurm)["job_extra_directives"] == ["--comment=dask-workers-of-4242"]


# -- the SLURM profile's resources: every rule, and the README's table generated from them ---------

REPO = Path(__file__).resolve().parents[2]


def _rules_of_workflow():
    rules = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        rules |= set(re.findall(r"^rule (\w+):", smk.read_text(), flags=re.M))
    return rules


def test_slurm_profile_sets_threads_memory_and_runtime_for_every_rule():
    from magcore.cluster import SLURM_PROFILE, profile_resources

    profile = yaml.safe_load((REPO / SLURM_PROFILE).read_text())
    rules = _rules_of_workflow()
    assert {"bands", "sphere", "llg", "texture", "sweep_point", "sweep_combine", "sweep_figures",
            "sweep_convergence"} <= rules
    assert set(profile["set-threads"]) == rules
    assert set(profile["set-resources"]) == rules
    for rule, res in profile["set-resources"].items():
        assert set(res) == {"mem_mb", "runtime"}, rule
    assert profile["retries"] >= 1 and profile["executor"] == "slurm"
    assert {r for r, *_ in profile_resources()} == rules


def test_readme_resource_table_is_the_one_generated_from_the_profile():
    from magcore.cluster import resource_table

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Running on more cores or a cluster")[1].split("\n## ")[0]
    table = resource_table()
    assert table in section, ("README's table differs from `python -m magcore.cluster`; paste its output:\n"
                              + table)
    # and it is the only resource table there (no stale copy left beside it)
    assert section.count("| rule | threads |") == 1


def test_rules_run_in_the_submitting_environment():
    """No rule declares a conda environment or a container: the README says jobs run the Python
    Snakemake is started from (the Snakefile validates the study with magcore at parse time, so
    `--use-conda` could not run before an environment exists)."""
    for smk in [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]:
        directives = re.findall(r"^\s+(conda|container|singularity):", smk.read_text(), flags=re.M)
        assert not directives, f"{smk.name} declares {directives}"
    assert not (REPO / "workflow" / "envs").exists()
    assert "`--use-conda` is not used" in (REPO / "README.md").read_text()
