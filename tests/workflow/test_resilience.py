"""Interruption and resumption: nothing lost, nothing mixed (real Snakemake, real kill -9),
the SLURM profile, and the study status helper."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import REPO, run_snakemake
from magcore.engine import ChunkCheckpoints, checkpoint_progress, stage_checkpoints
from magcore.cli import main as cli_main

STUDY = {
    "study": "resume",
    "model": {"name": "ti_surface", "parameters": {"J": 0.8}},
    "mesh": {"k_cutoff": 60.0, "radial_panels": 14, "radial_order": 12, "n_angle": 24},
    "sphere": {"n_theta": 9, "n_phi": 8},
    "compute": {"points_per_chunk": 1, "k_block": 400},
}
N_CHUNKS = STUDY["sphere"]["n_theta"] * STUDY["sphere"]["n_phi"]
STORES = ("bands.zarr", "sphere.zarr")
KILL_SEED = 1_618_033
"""Seed of the kill moments of test_kills_at_random_moments_then_rerun_matches (fixed, so the
suite is deterministic; MAGCORE_TEST_SEED overrides it to try other moments or replay one)."""


def _write(tmp, cfg):
    (tmp / "study.yaml").write_text(yaml.safe_dump(cfg))
    return ["--cores", "2", "--configfile", str(tmp / "study.yaml")]


def _study(tmp, cfg=STUDY):
    return tmp / "results" / cfg["study"]


def _chunks(tmp, cfg=STUDY):
    return list((_study(tmp, cfg) / ".checkpoints").glob("sphere-*/chunk_*.npz"))


def _assert_same_store(a, b):
    da, db = xr.open_zarr(a).load(), xr.open_zarr(b).load()
    assert set(da.data_vars) == set(db.data_vars)
    for name in da.data_vars:
        np.testing.assert_array_equal(da[name].values, db[name].values, err_msg=name)
    for key in ("config_hash", "input_files"):
        assert da.attrs[key] == db.attrs[key], key
    if da.attrs["code_fingerprint"] == db.attrs["code_fingerprint"]:  # (the code may change between runs)
        assert da.attrs["fingerprint"] == db.attrs["fingerprint"]


def _start(workdir, args, **env):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           *args]
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **env})


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)  # the whole tree: snakemake, the script, the Dask workers
    proc.wait()


def _wait_for(predicate, proc, what, timeout=240):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _recover_and_finish(workdir, args):
    """The documented recovery after a hard kill: `snakemake --unlock`, then the same command."""
    assert run_snakemake(workdir, "--unlock", *args).returncode == 0
    rerun = run_snakemake(workdir, *args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    return rerun


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The study run once without interruption: the reference every interrupted run must equal."""
    clean = tmp_path_factory.mktemp("clean")
    started = time.monotonic()
    proc = run_snakemake(clean, *_write(clean, STUDY))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return clean, time.monotonic() - started


# -- checkpoint files: unit level ----------------------------------------------------------------

def test_half_written_checkpoint_is_neither_counted_nor_loaded(tmp_path):
    ck = ChunkCheckpoints(tmp_path / "ck", fingerprint="abc")
    ck.save(0, {"x": np.arange(3.0)}, points=slice(0, 1))
    # what a kill between write and rename leaves, in today's and in the earlier naming
    (tmp_path / "ck" / "chunk_000013.npz.tmp-28031").write_bytes(b"PK\x03\x04 half")
    (tmp_path / "ck" / "chunk_000013.tmp-28031.npz").write_bytes(b"PK\x03\x04 half")
    assert ck.finished() == [0]
    assert checkpoint_progress(tmp_path / "ck") == (1, None)
    reopened = ChunkCheckpoints(tmp_path / "ck", fingerprint="abc")  # a rerun opens the directory
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["chunk_000000.npz"]
    assert reopened.load(13) is None
    np.testing.assert_array_equal(reopened.load(0)["x"], np.arange(3.0))


def test_damaged_or_foreign_chunks_are_recomputed_never_used(tmp_path):
    ck = ChunkCheckpoints(tmp_path / "ck", fingerprint="model-A")
    ck.save(0, {"x": np.ones(2)})
    ck.save(1, {"x": np.ones(2)})
    ck.set_total(5)
    assert checkpoint_progress(tmp_path / "ck") == (2, 5)
    ck.path(1).write_bytes(ck.path(1).read_bytes()[:40])  # truncated
    other = ChunkCheckpoints(tmp_path / "ck", fingerprint="model-B")
    assert other.load(0) is None and not ck.path(0).exists()  # other inputs: discarded
    assert other.load(1) is None and not ck.path(1).exists()  # unreadable: discarded


def test_checkpoint_folders_of_other_inputs_are_removed(tmp_path):
    root = tmp_path / ".checkpoints"
    old = stage_checkpoints(root, "sphere", "0" * 64)
    old.save(0, {"x": np.ones(1)})
    keep = stage_checkpoints(root, "texture", "0" * 64, "-bloch")
    new = stage_checkpoints(root, "sphere", "1" * 64)
    assert not old.directory.exists() and new.directory.exists() and keep.directory.exists()


def test_stale_temporary_stores_are_removed_and_replacement_is_whole(tmp_path):
    from magcore.config import validate
    from magcore.store import write_store

    cfg = validate({})
    (tmp_path / ".sphere.zarr.tmp-28031").mkdir()
    (tmp_path / ".sphere.zarr.tmp-28031" / "junk").write_text("x")
    ds = xr.Dataset({"a": ("x", np.arange(3.0))})
    write_store(ds, tmp_path / "sphere.zarr", cfg, "now")
    write_store(ds + 1, tmp_path / "sphere.zarr", cfg, "now")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sphere.zarr"]
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "sphere.zarr").a.values, np.arange(3.0) + 1)


def test_status_of_missing_folder_fails_and_interrupted_stage_gives_total(tmp_path, capsys):
    assert cli_main(["status", str(tmp_path / "nope")]) == 2
    assert "no study folder" in capsys.readouterr().err
    ck = stage_checkpoints(tmp_path / ".checkpoints", "sphere", "2" * 64)
    ck.set_total(72)
    for c in range(3):
        ck.save(c, {"x": np.ones(1)})
    assert cli_main(["status", str(tmp_path)]) == 1
    assert "sphere   interrupted 3/72 chunks done" in capsys.readouterr().out


# -- real Snakemake, real kill -9 ------------------------------------------------------------------

@pytest.mark.workflow
def test_kill_inside_checkpoint_write_then_rerun_matches(tmp_path, clean_run):
    clean, _ = clean_run
    args = _write(tmp_path, STUDY)
    proc = _start(tmp_path, args, MAGCORE_HOLD_AT="checkpoint-write@5")
    held = _study(tmp_path) / ".checkpoints"
    _wait_for(lambda: any(held.glob("sphere-*/*.held")), proc, "the checkpoint write window")
    _kill(proc)
    assert list(held.glob("sphere-*/chunk_*.npz.tmp-*"))  # the half-written chunk is there
    done = len(_chunks(tmp_path))
    assert done == 5
    assert cli_main(["status", str(_study(tmp_path))]) == 1

    rerun = _recover_and_finish(tmp_path, args)
    log = (_study(tmp_path) / "logs" / "sphere.log").read_text()
    assert f"resuming, {done}/{N_CHUNKS} chunks already done" in log, log[-2000:]
    assert "removing chunk_" in log  # the temporary file of the killed write
    for store in STORES:
        _assert_same_store(_study(clean) / store, _study(tmp_path) / store)
    assert not (_study(tmp_path) / ".checkpoints").exists() or not any((_study(tmp_path) / ".checkpoints").iterdir())
    assert cli_main(["status", str(_study(tmp_path))]) == 0
    assert rerun.returncode == 0


@pytest.mark.workflow
def test_kill_right_after_store_rename_then_documented_recovery(tmp_path, clean_run, capsys):
    clean, _ = clean_run
    args = _write(tmp_path, STUDY)
    proc = _start(tmp_path, args, MAGCORE_HOLD_AT="store-rename:sphere.zarr")
    _wait_for(lambda: (_study(tmp_path) / "sphere.zarr.held").exists(), proc, "the store rename window")
    _kill(proc)
    (_study(tmp_path) / "sphere.zarr.held").unlink()
    assert (_study(tmp_path) / "sphere.zarr" / "zarr.json").exists()  # renamed in, job not booked
    assert cli_main(["status", str(_study(tmp_path))]) == 1  # status agrees: Snakemake will redo it
    assert "sphere   unbooked" in capsys.readouterr().out
    _recover_and_finish(tmp_path, args)  # rerun-incomplete comes from profiles/default
    for store in STORES:
        _assert_same_store(_study(clean) / store, _study(tmp_path) / store)
    assert (_study(tmp_path) / "figures" / "fig2_3_gyromagnetic_ratio_free_energy.png").exists()
    assert sorted(p.name for p in _study(tmp_path).iterdir() if p.name.startswith(".sphere")) == []


@pytest.mark.workflow
def test_kills_at_random_moments_then_rerun_matches(tmp_path, clean_run):
    """Three kill -9 at pseudo-random moments of the whole run (validation, bands, Dask start-up,
    sphere chunks, store writes, figures), each followed by the documented recovery.  The moments
    are drawn from KILL_SEED (or MAGCORE_TEST_SEED), as fractions of the clean run's duration."""
    clean, duration = clean_run
    seed = int(os.environ.get("MAGCORE_TEST_SEED", KILL_SEED))
    rng = random.Random(seed)
    print(f"random kill moments: MAGCORE_TEST_SEED={seed}")
    args = _write(tmp_path, STUDY)
    for _ in range(3):
        proc = _start(tmp_path, args)
        time.sleep(rng.uniform(0.2, duration))
        if proc.poll() is None:
            _kill(proc)
        assert run_snakemake(tmp_path, "--unlock", *args).returncode == 0
    _recover_and_finish(tmp_path, args)
    for store in STORES:
        _assert_same_store(_study(clean) / store, _study(tmp_path) / store)
    leftovers = [p.name for p in _study(tmp_path).iterdir() if ".tmp-" in p.name]
    assert not leftovers, leftovers
    assert cli_main(["status", str(_study(tmp_path))]) == 0


HOPPING_STUDY = {
    "study": "swap",
    "model": {"name": "tight_binding", "source": {"hr_dat": "model_hr.dat", "lattice_vectors": [[1, 0], [0, 1]],
                                                  "spin": "none"}},
    "electrons": {"filling": 1}, "mesh": {"n_k": 24}, "sphere": {"n_theta": 9, "n_phi": 8},
    "compute": {"points_per_chunk": 1, "k_block": 200},
}


def _write_qwz_hr(path, u):
    from magcore.models import get_model
    from magcore.models.tight_binding import hoppings_from_model, write_wannier90_hr

    write_wannier90_hr(path, hoppings_from_model(get_model("qwz", u=u), np.zeros(3), 4))


@pytest.mark.workflow
def test_model_file_replaced_mid_stage_is_never_mixed_in(tmp_path):
    """Kill mid-sphere with model A, replace the _hr.dat by model B, rerun: the store equals a
    clean run of B (no chunk of A resumed)."""
    clean, run = tmp_path / "clean", tmp_path / "run"
    clean.mkdir()
    run.mkdir()
    _write_qwz_hr(clean / "model_hr.dat", -1.5)
    assert run_snakemake(clean, *_write(clean, HOPPING_STUDY)).returncode == 0

    _write_qwz_hr(run / "model_hr.dat", -1.0)  # model A
    args = _write(run, HOPPING_STUDY)
    proc = _start(run, args, MAGCORE_HOLD_AT="checkpoint-write@11")
    ck = _study(run, HOPPING_STUDY) / ".checkpoints"
    _wait_for(lambda: any(ck.glob("sphere-*/*.held")), proc, "11 chunks of model A")
    _kill(proc)
    assert len(_chunks(run, HOPPING_STUDY)) == 11
    _write_qwz_hr(run / "model_hr.dat", -1.5)  # model B, same path
    _recover_and_finish(run, args)
    log = (_study(run, HOPPING_STUDY) / "logs" / "sphere.log").read_text()
    assert "resuming" not in log, log[-2000:]
    for store in STORES:
        _assert_same_store(_study(clean, HOPPING_STUDY) / store, _study(run, HOPPING_STUDY) / store)
    sphere = xr.open_zarr(_study(run, HOPPING_STUDY) / "sphere.zarr")
    assert list(json.loads(sphere.attrs["input_files"])) == ["model_hr.dat"]


def test_stage_refuses_an_upstream_store_made_from_other_file_contents(tmp_path, monkeypatch):
    from magcore.config import validate
    from magcore.stages import run_bands, run_sphere

    monkeypatch.chdir(tmp_path)
    _write_qwz_hr(tmp_path / "model_hr.dat", -1.0)
    cfg = validate({**HOPPING_STUDY, "mesh": {"n_k": 6}, "sphere": {"n_theta": 3, "n_phi": 2}})
    run_bands(cfg, tmp_path / "bands.zarr")
    _write_qwz_hr(tmp_path / "model_hr.dat", -1.5)
    with pytest.raises(ValueError, match="other contents of model_hr.dat"):
        run_sphere(cfg, tmp_path / "bands.zarr", tmp_path / "sphere.zarr")
    assert not (tmp_path / "sphere.zarr").exists()
