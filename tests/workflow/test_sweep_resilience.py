"""Interrupted parameter sweeps (real Snakemake, real kill -9 of the whole process group): nothing
lost, nothing mixed, finished work kept.

A sweep of 2 expensive points (J) x 3 electron states (chemical_potential) is run once without
interruption (the reference), then, in other folders,

* killed inside a ``sweep_point`` job once some of its electron states are written: the rerun
  keeps those states (their stores are not rewritten; the point's log says ``reused``);
* killed inside a ``sweep_combine`` job, right after the combined store was renamed into place
  (``MAGCORE_HOLD_AT=sweep-store-rename:sphere.zarr``), before Snakemake booked the job;
* killed at a moment drawn from a fixed seed;

each followed by the documented recovery (``snakemake --unlock``, then the same command;
rerun-incomplete comes from profiles/default), after which every combined store equals the
clean run's bit for bit.

``--set-threads sweep_point=1`` runs the two point jobs side by side (one core each; the rule asks
for 64 threads, which --cores 2 would scale to 2, running them one after the other): it halves
the run time, and a kill then hits two point jobs at once.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml
from conftest import REPO, TI_SURFACE_SWEEP, run_snakemake

pytestmark = pytest.mark.workflow

STUDY = {
    **TI_SURFACE_SWEEP,
    "study": "sweepkill",
    "mesh": {"k_cutoff": 60.0, "radial_panels": 10, "radial_order": 8, "n_angle": 16},
    "sphere": {"n_theta": 7, "n_phi": 6},
    "compute": {"points_per_chunk": 2, "k_block": 200},
}
N_STATES = 2 * 3
STAGES = ("bands", "sphere")
KILL_SEED = 1_618_033
"""Seed of the kill moment of test_sweep_killed_at_a_random_moment_then_rerun_matches (fixed, so
the suite is deterministic; MAGCORE_TEST_SEED overrides it to try other moments or replay one)."""


def _study(work):
    return work / "results" / STUDY["study"]


def _args(work):
    """The command line of every run: the combined stores as targets (the figure and summary
    rules are not what is tested here), the point jobs one core each."""
    (work / "sweep.yaml").write_text(yaml.safe_dump(STUDY))
    targets = [f"results/{STUDY['study']}/{stage}.zarr/zarr.json" for stage in STAGES]
    return [*targets, "--cores", "2", "--configfile", str(work / "sweep.yaml"), "--set-threads", "sweep_point=1"]


def _start(work, args, **env):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
           *args]
    return subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **env})


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)  # the whole tree: snakemake, the job scripts, the Dask workers
    proc.wait()


def _wait_for(predicate, proc, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _finished_states(work):
    """The electron states whose sphere store is in place (renamed in whole): folder -> identity
    of its zarr.json (inode, mtime), to tell later whether it was written again."""
    found = {}
    for path in _study(work).glob("points/*/cheap/*/sphere.zarr/zarr.json"):
        st = path.stat()
        found[path.parents[1]] = (st.st_ino, st.st_mtime_ns)
    return found


def _jobs(proc, rule):
    """How many jobs of ``rule`` Snakemake's job-stats table lists."""
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == rule and parts[1].isdigit():
            return int(parts[1])
    return 0


def _unlock(work, args):
    assert run_snakemake(work, "--unlock", *args).returncode == 0


def _run(work, *args):
    proc = run_snakemake(work, *args)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _assert_same_store(a, b):
    """The values (data variables and coordinates) bit for bit, NaN equal to NaN, and what the
    store says it was made from."""
    da, db = xr.open_zarr(a).load(), xr.open_zarr(b).load()
    assert set(da.variables) == set(db.variables)
    for name in da.variables:
        assert da[name].dims == db[name].dims, name
        x, y = da[name].values, db[name].values
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=f"{a.name}: {name}")
        if x.dtype.kind in "fc":  # assert_array_equal treats NaN as equal; the bits too
            assert np.array_equal(x.view(np.uint8), y.view(np.uint8)), name
    for key in ("config_hash", "input_files", "stacked_dims", "stacked_constant_variables",
                "stacked_dropped_variables"):
        assert da.attrs[key] == db.attrs[key], key
    if da.attrs["code_fingerprint"] == db.attrs["code_fingerprint"]:  # (the code may change between runs)
        assert da.attrs["fingerprint"] == db.attrs["fingerprint"]


def _assert_matches_clean(clean, work):
    for stage in STAGES:
        _assert_same_store(_study(clean) / f"{stage}.zarr", _study(work) / f"{stage}.zarr")
    leftovers = [str(p.relative_to(_study(work))) for p in _study(work).rglob("*")
                 if ".tmp-" in p.name or p.name.endswith(".held")]
    assert not leftovers, leftovers


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The sweep run once without interruption: the reference every interrupted run must equal."""
    clean = tmp_path_factory.mktemp("clean")
    started = time.monotonic()
    proc = _run(clean, *_args(clean))
    assert _jobs(proc, "sweep_point") == 2 and _jobs(proc, "sweep_combine") == 2
    return clean, time.monotonic() - started


def test_sweep_killed_in_a_point_job_and_in_a_combine_job_then_rerun_matches(tmp_path, clean_run):
    clean, _ = clean_run
    args = _args(tmp_path)

    # (a) kill -9 inside the point jobs, once an electron state is written
    proc = _start(tmp_path, args)
    _wait_for(lambda: _finished_states(tmp_path), proc, "the first electron state")
    _kill(proc)
    kept = _finished_states(tmp_path)
    assert 1 <= len(kept) < N_STATES, kept
    assert not list(_study(tmp_path).glob("points/*/*.zarr/zarr.json"))  # no point job got to stacking
    _unlock(tmp_path, args)
    rerun = _run(tmp_path, *args, "--until", "sweep_point")  # the point jobs only, to hold (b) in a combine job
    assert _jobs(rerun, "sweep_point") == 2 and _jobs(rerun, "sweep_combine") == 0
    assert _finished_states(tmp_path).items() >= kept.items()  # the kept states were not written again
    logs = "".join(p.read_text() for p in (_study(tmp_path) / "logs" / "points").glob("*.log"))
    reused = re.findall(r"electron state \d+/3 .* \(reused\)", logs)
    assert len(reused) == len(kept), logs[-3000:]
    assert len(re.findall(r"electron state \d+/3 .* \(computed\)", logs)) >= N_STATES - len(kept)

    # (b) kill -9 inside a combine job, its store renamed into place, the job not yet booked
    proc = _start(tmp_path, args, MAGCORE_HOLD_AT="sweep-store-rename:sphere.zarr")
    held = _study(tmp_path) / "sphere.zarr.held"
    _wait_for(held.exists, proc, "the combined store's rename window")
    _kill(proc)
    held.unlink()
    assert (_study(tmp_path) / "sphere.zarr" / "zarr.json").exists()  # renamed in, not booked
    _unlock(tmp_path, args)
    rerun = _run(tmp_path, *args)
    assert _jobs(rerun, "sweep_point") == 0 and _jobs(rerun, "sweep_combine") >= 1, rerun.stdout[-3000:]
    _assert_matches_clean(clean, tmp_path)


def test_sweep_killed_at_a_random_moment_then_rerun_matches(tmp_path, clean_run):
    """One kill -9 at a pseudo-random moment of the whole sweep (point jobs, their Dask clusters,
    electron-state stores, stacking, combine jobs), drawn from KILL_SEED (or MAGCORE_TEST_SEED)
    as a fraction of the clean run's duration, then the documented recovery."""
    clean, duration = clean_run
    seed = int(os.environ.get("MAGCORE_TEST_SEED", KILL_SEED))
    moment = random.Random(seed).uniform(0.2, duration)
    print(f"random kill moment: {moment:.1f} s of {duration:.1f} s (MAGCORE_TEST_SEED={seed})")
    args = _args(tmp_path)
    proc = _start(tmp_path, args)
    time.sleep(moment)
    if proc.poll() is None:
        _kill(proc)
    _unlock(tmp_path, args)
    _run(tmp_path, *args)
    _assert_matches_clean(clean, tmp_path)


_CACHE_PROBE = """
import numpy as np
from magcore.kernels import _occupied_lanes, occupied_berry_curvature_map
from magcore.models import get_model

k = np.random.default_rng(0).normal(size=(64, 2))
occupied_berry_curvature_map(get_model("tmd"), k, np.array([0.0, 0.0, 1.0]), 1.0, params="kk")
print(sum(_occupied_lanes.stats.cache_misses.values()))
"""


def test_tmd_lane_kernel_is_loaded_from_the_numba_cache_by_a_new_process():
    """The occupied-curvature lane kernel takes no function argument (whose type would hold a
    dispatcher's address): a new process loads it from numba's on-disk cache instead of
    compiling it again, which also kept parallel tmd jobs from corrupting the cache index."""
    misses = []
    for _ in range(2):  # the first may compile (a cold cache); the second must load
        proc = subprocess.run([sys.executable, "-c", _CACHE_PROBE], capture_output=True, text=True, check=False)
        if proc.returncode and "numba/core/caching.py" not in proc.stderr:
            pytest.fail(proc.stderr[-3000:])  # an error outside numba's cache is a failure, not the expected one
        misses.append(proc.stdout.split()[-1] if proc.returncode == 0 else "crashed")
    assert misses[1] == "0", f"cache misses of _occupied_lanes in a new process: {misses}"
