import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests run the kernels in one process: keep BLAS single-threaded so timings and round-off
# do not depend on the machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def run_snakemake(workdir: Path, *args: str, timeout: float = 600):
    """Run the real Snakemake on the repository's Snakefile in ``workdir``."""
    import subprocess

    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
