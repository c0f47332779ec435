"""Interruption and resumption, the SLURM profile, and the study status helper (issue 7)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import REPO, run_snakemake
from magcore.cli import main as cli_main

pytestmark = pytest.mark.workflow

STUDY = {
    "study": "resume",
    "model": {"name": "ti_surface", "parameters": {"J": 0.8}},
    "mesh": {"k_cutoff": 60.0, "radial_panels": 14, "radial_order": 12, "n_angle": 24},
    "sphere": {"n_theta": 9, "n_phi": 8},
    "compute": {"points_per_chunk": 1, "k_block": 400},
}


def _write(tmp, cfg):
    (tmp / "study.yaml").write_text(yaml.safe_dump(cfg))
    return ["--cores", "2", "--configfile", str(tmp / "study.yaml")]


def _chunks(tmp):
    return list((tmp / "results" / "resume" / ".checkpoints").glob("sphere-*/chunk_*.npz"))


def _assert_same_store(a, b):
    da, db = xr.open_zarr(a).load(), xr.open_zarr(b).load()
    assert set(da.data_vars) == set(db.data_vars)
    for name in da.data_vars:
        np.testing.assert_array_equal(da[name].values, db[name].values, err_msg=name)
    assert da.attrs["config_hash"] == db.attrs["config_hash"]


def test_kill_minus_9_mid_stage_then_rerun_resumes_and_matches(tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    assert run_snakemake(clean, *_write(clean, STUDY)).returncode == 0

    args = _write(killed, STUDY)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(killed), *args]
    proc = subprocess.Popen(cmd, cwd=killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while len(_chunks(killed)) < 5:
        assert proc.poll() is None, "the run finished before it could be interrupted"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole tree: snakemake, the script, the Dask workers
    proc.wait()
    done = len(_chunks(killed))
    total = STUDY["sphere"]["n_theta"] * STUDY["sphere"]["n_phi"]
    assert 5 <= done < total
    assert not (killed / "results" / "resume" / "sphere.zarr" / "zarr.json").exists()
    assert cli_main(["status", str(killed / "results" / "resume")]) == 1  # interrupted

    # a hard kill leaves Snakemake's directory lock: the documented recovery is one --unlock
    assert run_snakemake(killed, "--unlock", *args).returncode == 0
    rerun = run_snakemake(killed, *args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (killed / "results" / "resume" / "logs" / "sphere.log").read_text()
    resumed = [line for line in log.splitlines() if "resuming" in line]
    assert resumed, log[-2000:]
    n_resumed = int(resumed[-1].split("resuming, ")[1].split("/")[0])
    assert n_resumed >= done - 1 and n_resumed < total  # only the missing chunks were computed
    mesh = STUDY["mesh"]
    n_k = (mesh["radial_panels"] + 1) * mesh["radial_order"] * mesh["n_angle"]
    tasks = (total - n_resumed) * -(-n_k // STUDY["compute"]["k_block"])
    assert f"{tasks}/{tasks} tasks" in log  # the rerun computed only the missing chunks
    for store in ("bands.zarr", "sphere.zarr"):
        _assert_same_store(clean / "results" / "resume" / store, killed / "results" / "resume" / store)
    assert not _chunks(killed)  # checkpoints are removed once the store is written
    assert cli_main(["status", str(killed / "results" / "resume")]) == 0


def test_slurm_profile_dry_run_resources_match_readme(tmp_path):
    proc = run_snakemake(REPO, "-n", "-F", "--profile", str(REPO / "workflow" / "profiles" / "slurm"),
                         "--directory", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    readme = (REPO / "README.md").read_text()
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    for rule, res in profile["set-resources"].items():
        block = out.split(f"rule {rule}:")[1].split("rule ")[0]
        assert f"mem_mb={res['mem_mb']}" in block and f"runtime={res['runtime']}" in block, block
        threads = profile["set-threads"][rule]
        assert (f"threads: {threads}" in block) == (threads > 1), block
        # the README's table states the same numbers
        assert f"| `{rule}` | {threads} | {res['mem_mb']} | {res['runtime']} |" in readme
    assert not (tmp_path / "results").exists()
