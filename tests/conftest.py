import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests run the kernels in one process: keep BLAS single-threaded so timings and round-off
# do not depend on the machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject.toml): one test process per core, at most 4 (each process compiles
    the numba kernels on a cold cache, and the workflow tests start Snakemake with 2 cores)."""
    return max(1, min(os.cpu_count() or 1, 4))


def pytest_collection_modifyitems(config, items):
    """The files of real Snakemake runs first: they are the longest, so test processes that
    share the files (pytest-xdist) finish at about the same time."""
    items.sort(key=lambda item: item.get_closest_marker("workflow") is None)


@pytest.fixture(scope="session", autouse=True)
def compiled_six_band_kernels():
    """Compile (or load) the six-band lane kernels once in the test process, before any test
    starts Dask workers or Snakemake jobs: on a cold numba cache (a fresh clone) those
    processes would otherwise each compile the same kernels at the same time (~70 s each)."""
    import numpy as np

    from magcore.kernels import occupied_berry_curvature_map
    from magcore.linalg import eigh
    from magcore.models import get_model
    from magcore.sphere import Electrons, sphere_partial_sums

    model = get_model("tmd")
    k = np.random.default_rng(0).normal(size=(64, 2))
    m = np.array([0.0, 0.0, 1.0])
    eigh(model.hamiltonian(k, m))
    occupied_berry_curvature_map(model, k, m, 1.0, params="kk")
    sphere_partial_sums(model, m[None], k, np.full(64, 1 / 64), Electrons(chemical_potential=1.0, temperature=0.02))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def run_snakemake(workdir: Path, *args: str, timeout: float = 600):
    """Run the real Snakemake on the repository's Snakefile in ``workdir``."""
    import subprocess

    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def no_dask(monkeypatch):
    """Replace the stages' Dask client by None (in-process compute, for the tests that call the
    stages directly); record what was asked for ((threads, mem_mb) per client)."""
    import contextlib

    from magcore import stages

    calls = []

    @contextlib.contextmanager
    def client(compute, threads=1, mem_mb=None):
        calls.append((threads, mem_mb))
        yield None

    monkeypatch.setattr(stages, "dask_client_from_config", client)
    return calls


def run_single_point(cfg: dict, folder: Path, stages_: tuple[str, ...] = ("bands", "sphere")) -> dict:
    """The single-point stages ``stages_`` of the resolved config ``cfg`` in-process into
    ``folder`` (warnings of tiny grids silenced); returns {stage: Dataset}."""
    import warnings

    from magcore import stages

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stage in stages_:
            path = folder / f"{stage}.zarr"
            if stage == "bands":
                out[stage] = stages.run_bands(cfg, path)
            elif stage == "sphere":
                out[stage] = stages.run_sphere(cfg, folder / "bands.zarr", path)
            else:
                out[stage] = stages.run_llg(cfg, folder / "sphere.zarr", path)
    return out


TI_SURFACE_SWEEP = {
    "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
    "bands": {"path_points": 11},
    "electrons": {"temperature": 0.02},
    "llg": {"enabled": False},
    "sweep": {"axes": {"J": {"values": [0.5, 0.8]}, "chemical_potential": {"values": [0.0, 0.3, 0.45]}}},
}
"""The small ti_surface sweep of the sweep workflow tests (2 expensive points x 3 electron
states); each test adds its study name, mesh, sphere grid and compute settings."""
