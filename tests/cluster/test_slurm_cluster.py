"""Studies submitted to a real SLURM cluster (tests/cluster/start_slurm.sh) with the README's
command, `snakemake --profile workflow/profiles/slurm --default-resources slurm_account=...
slurm_partition=...` (threads and memory fitted to the small node, slurm_helpers.submit_args):

* the default study finishes, every job went through sbatch (SLURM's accounting lists each one,
  by rule), and its stores equal those of a local run (`snakemake --cores 2`) bit for bit;
* a sphere job cancelled with `scancel` in the middle of its chunks is resubmitted (the
  profile's `retries`), resumes from its checkpoints, and the stores are still the same bits;
* the sphere stage with `compute.dask_cluster: slurm` starts a dask-jobqueue SLURMCluster whose
  worker runs as a SLURM job (`magcore-dask`, its comment naming the sphere job), computes the
  same bits, and leaves no job in `squeue`;
* a sweep study fans out into one SLURM job per point and combines them.

The study is the default one (config/config.yaml: bands, sphere, figures, summary, llg driven
by its own sphere maps, llg figures) on a smaller mesh and grid (slurm_helpers.small_default_study).
Each job takes seconds, and the executor checks job states every 2 s to 20 s, so the runs the
selected tests need are all started at once (SLURM queues their jobs on the node) and each test
waits for its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from magcore.fingerprint import code_fingerprint
from slurm_helpers import (ACCOUNT, PARTITION, assert_same_stores, requires_slurm, rule_of, run_uuid, sacct_jobs,
                           small_default_study, snakemake_jobs, squeue, start_snakemake,
                           submit_args, write_study)

# (also slow and workflow: real Snakemake runs of minutes, left out of the README's fast tier)
pytestmark = [*requires_slurm(), pytest.mark.slow, pytest.mark.workflow]

STUDY = small_default_study()
STORES = ("bands.zarr", "sphere.zarr", "llg.zarr")
SPHERE_TARGET = f"results/{STUDY['study']}/sphere.zarr/zarr.json"  # (relative to the run's folder)
N_CHUNKS = -(-STUDY["sphere"]["n_theta"] * STUDY["sphere"]["n_phi"] // STUDY["compute"]["points_per_chunk"])
DASK_STUDY = {**STUDY, "compute": {**STUDY["compute"], "dask_cluster": "slurm",
                                   "slurm": {"jobs": 1, "cores": 1, "memory": "2GB", "walltime": "00:20:00",
                                             "queue": PARTITION, "account": ACCOUNT}}}
SWEEP = {
    "study": "sweep_small",
    "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
    "mesh": {"k_cutoff": 30.0, "radial_panels": 6, "radial_order": 4, "n_angle": 4},
    "sphere": {"n_theta": 5, "n_phi": 4},
    "bands": {"path_points": 11},
    "llg": {"enabled": False},
    "sweep": {"axes": {"J": {"values": [0.5, 0.8]}, "chemical_potential": {"values": [0.0, 0.3]}}},
}


class Run:
    """One Snakemake run in the background, in its own folder."""

    def __init__(self, workdir, cfg, *args):
        self.workdir, self.cfg = workdir, cfg
        self.study = workdir / "results" / cfg["study"]
        self.log = workdir / "snakemake.log"
        self.proc = start_snakemake(workdir, *args, "--configfile", str(write_study(workdir, cfg)), log=self.log)
        self._output = None

    def output(self, timeout=1200) -> str:
        """Wait for the run; its output. Fails the test if Snakemake failed."""
        if self._output is None:
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.stop()
                raise
            self._output = self.log.read_text()
            assert code == 0, self._output[-6000:]
        return self._output

    def stop(self):
        """End the run if it is still going: Ctrl-C first (Snakemake then scancels its jobs),
        then kill it and scancel whatever of its jobs is left."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        match = re.search(r"SLURM run ID: (\S+)", self.log.read_text())
        if match:
            subprocess.run(["scancel", "--name", match.group(1)])


class CancelMidSphere(threading.Thread):
    """Watch a run; once its sphere job has written some but not all of its chunks, scancel it."""

    def __init__(self, run: Run):
        super().__init__(daemon=True)
        self.run_, self.cancelled, self.chunks_at_cancel, self.error = run, None, None, None
        self.start()

    def run(self):
        deadline = time.monotonic() + 600
        while self.run_.proc.poll() is None and time.monotonic() < deadline:
            chunks = len(list((self.run_.study / ".checkpoints").glob("sphere-*/chunk_*.npz")))
            if 0 < chunks < N_CHUNKS:
                uuid = run_uuid(self.run_.log.read_text())
                jobs = [line.split()[0] for line in squeue("--name", uuid, "-o", "%i %k") if "rule_sphere" in line]
                if len(jobs) != 1:
                    self.error = f"expected one sphere job in squeue, found {jobs}"
                    return
                cancel = subprocess.run(["scancel", jobs[0]], capture_output=True, text=True)
                if cancel.returncode != 0:
                    self.error = f"scancel {jobs[0]} failed: {cancel.stderr}"
                self.cancelled, self.chunks_at_cancel = jobs[0], chunks
                return
            time.sleep(0.05)
        self.error = "the run ended (or timed out) before the sphere job was caught in the middle"


# which runs each test needs: only those of the selected tests are started
RUNS_OF_TEST = {
    "test_default_study_goes_through_sbatch_and_equals_a_local_run": ("local", "slurm"),
    "test_sphere_job_cancelled_midway_is_retried_and_the_stores_are_the_same": ("local", "cancel"),
    "test_dask_slurm_cluster_workers_run_as_slurm_jobs_and_leave_none_behind": ("local", "dask"),
    "test_sweep_fans_out_into_one_slurm_job_per_point_and_combines": ("sweep",),
}


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    wanted = {name for item in request.session.items
              for name in RUNS_OF_TEST.get(getattr(item, "originalname", item.name), ())}
    started = {"code": code_fingerprint()}

    def folder(name):
        return tmp_path_factory.mktemp(name)

    try:
        if "local" in wanted:
            # first, until its sphere store is written: the kernels the runs share are then
            # compiled and in numba's cache (on a fresh clone, every run would compile them at once)
            local = started["local"] = Run(folder("local"), STUDY, "--cores", "2")
            deadline = time.monotonic() + 300
            while not (local.study / "sphere.zarr" / "zarr.json").exists() and local.proc.poll() is None:
                assert time.monotonic() < deadline, "the local run did not write its sphere store in 300 s"
                time.sleep(0.5)
        if "slurm" in wanted:
            # two sphere threads: two Dask workers inside the job's allocation
            started["slurm"] = Run(folder("slurm"), STUDY, *submit_args(threads={"sphere": 2}))
        if "cancel" in wanted:
            # one sphere thread: the stage is slow enough to be caught midway. Job states from
            # squeue: sacct calls a cancelled job "CANCELLED by <uid>", which the executor
            # (snakemake-executor-plugin-slurm 2.8.0) does not take for an ended job, so it would
            # wait for it forever (README, "Running on more cores or a cluster")
            started["cancel"] = Run(folder("cancel"), STUDY, *submit_args(),
                                    "--slurm-status-command", "squeue", SPHERE_TARGET)
            started["cancel"].watcher = CancelMidSphere(started["cancel"])
        if "dask" in wanted:  # the sphere job and its Dask worker job, one CPU each
            started["dask"] = Run(folder("dask"), DASK_STUDY, *submit_args(), SPHERE_TARGET)
        if "sweep" in wanted:
            started["sweep"] = Run(folder("sweep"), SWEEP, *submit_args())
        yield started
    finally:
        for run in started.values():
            if isinstance(run, Run):
                run.stop()


def _same_code(runs):
    """Skip when magcore's result-affecting source changed while the runs went on (an edit in a
    shared working tree): the checkpoints of a cancelled job are then rightly discarded and the
    runs may differ. A fixed checkout (CI) never skips here."""
    if code_fingerprint() != runs["code"]:
        pytest.skip("magcore's source changed during the runs (another edit in this working tree): "
                    "resume and equality cannot be checked; rerun")


def _local(runs):
    """The study folder of the local run (waiting for it)."""
    runs["local"].output()
    return runs["local"].study


def _submitted(out: str, *, allowed=("COMPLETED",)) -> dict[str, int]:
    """rule -> jobs of this run in SLURM's accounting, each in an allowed state, exit 0."""
    jobs = sacct_jobs(run_uuid(out))
    counts = {}
    for job in jobs:
        assert job["State"].split()[0] in allowed, jobs
        counts[rule_of(job)] = counts.get(rule_of(job), 0) + 1
    return counts


def test_default_study_goes_through_sbatch_and_equals_a_local_run(runs):
    run = runs["slurm"]
    out = run.output()
    _local(runs)
    _same_code(runs)
    planned = snakemake_jobs(out)
    assert {"bands", "sphere", "figures", "summary", "llg", "llg_figures"} <= set(planned), planned
    # every job but the target rule `all` (no code) was one sbatch job, completed with exit 0
    assert _submitted(out) == {rule: n for rule, n in planned.items() if rule != "all"}, planned
    assert not squeue("--name", run_uuid(out))
    assert_same_stores(run.study, _local(runs), STORES)
    for png in ("fig2_3_gyromagnetic_ratio_free_energy.png", "llg_trajectories.png", "llg_phase_diagram.png"):
        assert (run.study / "figures" / png).stat().st_size > 10_000
    assert "berry_curvature_theta_phi" in (run.study / "summary.txt").read_text()


def test_sphere_job_cancelled_midway_is_retried_and_the_stores_are_the_same(runs):
    run = runs["cancel"]
    run.watcher.join(timeout=600)
    assert run.watcher.error is None, run.watcher.error
    out = run.output()
    _local(runs)
    _same_code(runs)
    jobs = [j for j in sacct_jobs(run_uuid(out)) if rule_of(j) == "sphere"]
    assert [j["State"].split()[0] for j in jobs] == ["CANCELLED", "COMPLETED"], jobs
    assert jobs[0]["JobID"] == run.watcher.cancelled
    assert "Trying to restart job" in out, out[-4000:]
    # the resubmitted job kept the chunks the cancelled one had finished
    log = (run.study / "logs" / "sphere.log").read_text()
    assert "k-integrals: resuming" in log, log[-3000:]
    assert_same_stores(run.study, _local(runs), ("bands.zarr", "sphere.zarr"))


def test_dask_slurm_cluster_workers_run_as_slurm_jobs_and_leave_none_behind(runs):
    run = runs["dask"]
    out = run.output()
    _local(runs)
    _same_code(runs)
    assert _submitted(out) == {"bands": 1, "sphere": 1}
    log = (run.study / "logs" / "sphere.log").read_text()
    assert "dask-jobqueue SLURM cluster: 1 job(s) of 1 cores" in log, log[-3000:]
    # the worker: a SLURM job of its own, started by the sphere job (its comment names it),
    # ended (scancel'ed by the SLURMCluster) when the stage closed it
    sphere_job = next(j["JobID"] for j in sacct_jobs(run_uuid(out)) if rule_of(j) == "sphere")
    workers = [j for j in sacct_jobs("magcore-dask") if j["Comment"] == f"dask-workers-of-{sphere_job}"]
    assert len(workers) == 1, workers
    assert workers[0]["State"].split()[0] in ("COMPLETED", "CANCELLED"), workers
    assert not [line for line in squeue("-o", "%i %k") if f"dask-workers-of-{sphere_job}" in line]
    assert not squeue("--name", run_uuid(out))
    # the same bits as the local cluster's run (results do not depend on the Dask cluster)
    assert_same_stores(run.study, _local(runs), ("bands.zarr", "sphere.zarr"))


def test_sweep_fans_out_into_one_slurm_job_per_point_and_combines(runs):
    run = runs["sweep"]
    out = run.output()
    jobs = sacct_jobs(run_uuid(out))
    assert all(j["State"] == "COMPLETED" and j["ExitCode"] == "0:0" for j in jobs), jobs
    # one job per point (J = 0.5 and 0.8): rule sweep_point, or a job of its group sweep_points
    # (a point per group job unless --group-components says otherwise)
    points = [j for j in jobs if j["Comment"].startswith("rule_sweep_point")]
    assert len(points) == 2, jobs
    assert len(list((run.study / "points").glob("*/sphere.zarr/zarr.json"))) == 2
    rest = {}
    for job in jobs:
        if job not in points:
            rest[rule_of(job)] = rest.get(rule_of(job), 0) + 1
    assert rest == {"sweep_combine": 2, "sweep_figures": 1, "sweep_summary": 1}, jobs
    import xarray as xr

    sphere = xr.open_zarr(run.study / "sphere.zarr")
    assert sphere.attrs["complete"]
    assert list(sphere.J.values) == [0.5, 0.8] and list(sphere.chemical_potential.values) == [0.0, 0.3]
    assert (run.study / "figures" / "sweep_lines.png").stat().st_size > 10_000
