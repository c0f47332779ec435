"""Helpers of the `cluster` tests: is a SLURM cluster running here, the README's submission
command (the SLURM profile, account and partition) with every rule's threads and memory capped
to what this cluster's node has, the jobs a run submitted (from `sacct`), and studies.

Start the cluster with `bash tests/cluster/start_slurm.sh` (as root; `.ci/run` does it), then
`python -m pytest -m cluster`. Without one, the tests skip and say why.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "workflow" / "profiles" / "slurm"
ACCOUNT = os.environ.get("MAGCORE_SLURM_ACCOUNT", "magcore")      # made by start_slurm.sh
PARTITION = os.environ.get("MAGCORE_SLURM_PARTITION", "debug")    # made by start_slurm.sh
CAP_MEM_MB = 4000
"""Memory asked per job in these tests (the tiny studies need far less): the node's memory is
shared by the jobs that run at the same time."""


def _run(*cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@functools.lru_cache(maxsize=None)
def skip_reason() -> str | None:
    """Why the cluster tests cannot run here (None: a SLURM cluster with accounting is up)."""
    for tool in ("sinfo", "sbatch", "sacct", "squeue", "scancel"):
        if shutil.which(tool) is None:
            return (f"no SLURM here: `{tool}` not found (apt-get install slurm-wlm slurmdbd munge "
                    "mariadb-server, then bash tests/cluster/start_slurm.sh as root)")
    try:
        nodes = _run("sinfo", "-h", "-N", "-o", "%N %t", timeout=20)
    except subprocess.TimeoutExpired:
        return "no SLURM controller answers `sinfo` within 20 s (bash tests/cluster/start_slurm.sh)"
    if nodes.returncode != 0:
        last = nodes.stderr.strip().splitlines()[-1:] or [""]
        return f"`sinfo` fails, no SLURM controller running (bash tests/cluster/start_slurm.sh): {last[0][:200]}"
    states = [line.split()[1] for line in nodes.stdout.splitlines() if len(line.split()) == 2]
    if not any(s.rstrip("*~#") in ("idle", "mix", "alloc", "comp") for s in states):
        return f"no SLURM node is up (sinfo: {nodes.stdout.strip() or 'no nodes'})"
    acct = _run("sacct", "-n", "-X", "-o", "JobID", "--starttime", "now-1minutes", timeout=20)
    if acct.returncode != 0:
        return f"SLURM accounting (slurmdbd) does not answer `sacct`: {' / '.join(acct.stderr.split(chr(10)))[-200:]}"
    if _run("sinfo", "-h", "-p", PARTITION, "-o", "%P").stdout.strip() == "":
        return f"no partition {PARTITION!r} (set MAGCORE_SLURM_PARTITION)"
    return None


def requires_slurm():
    """The marks of a cluster test: `cluster`, skipped with the reason where no SLURM runs."""
    reason = skip_reason()
    return [pytest.mark.cluster, pytest.mark.skipif(reason is not None, reason=reason or "")]


@functools.lru_cache(maxsize=None)
def node_capacity() -> tuple[int, int]:
    """(CPUs, memory in MB) of the smallest node of the partition."""
    out = _run("sinfo", "-h", "-N", "-p", PARTITION, "-o", "%c %m").stdout.split("\n")
    pairs = [tuple(int(re.sub(r"\D", "", x)) for x in line.split()) for line in out if line.strip()]
    return min(c for c, _ in pairs), min(m for _, m in pairs)


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def submit_args(*, threads: dict[str, int] | None = None) -> list[str]:
    """The README's SLURM command (`--profile workflow/profiles/slurm --default-resources
    slurm_account=... slurm_partition=...`), every rule's threads set to 1 (so that the small
    node runs jobs side by side; ``threads`` sets others, up to the node's CPUs) and memory
    capped to CAP_MEM_MB, runtimes as in the profile; status checks every few seconds instead of
    the executor's 40 s (the jobs here take seconds)."""
    cpus, mem = node_capacity()
    prof = profile()
    threads = {rule: 1 for rule in prof["set-threads"]} | {r: min(t, cpus) for r, t in (threads or {}).items()}
    set_threads = [f"{rule}={t}" for rule, t in threads.items()]
    set_resources = []
    for rule, res in prof["set-resources"].items():
        set_resources += [f"{rule}:mem_mb={min(int(res['mem_mb']), CAP_MEM_MB, mem)}",
                          f"{rule}:runtime={res['runtime']}"]
    return ["--profile", str(PROFILE),
            "--default-resources", f"slurm_account={ACCOUNT}", f"slurm_partition={PARTITION}",
            "--set-threads", *set_threads, "--set-resources", *set_resources,
            "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
            "--slurm-keep-successful-logs"]


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(workdir), *args]


def run_snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_cmd(workdir, *args), cwd=workdir, capture_output=True, text=True,
                          timeout=timeout)


def start_snakemake(workdir: Path, *args: str, log: Path) -> subprocess.Popen:
    """Snakemake in the background, its output to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(snakemake_cmd(workdir, *args), cwd=workdir, stdout=out,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)


def run_uuid(output: str) -> str:
    """The SLURM executor's run id: the job name of every job the run submitted."""
    match = re.search(r"SLURM run ID: (\S+)", output)
    assert match, output[-3000:]
    return match.group(1)


def sacct_jobs(name: str, timeout: float = 30) -> list[dict]:
    """The jobs called ``name`` in SLURM's accounting: JobID, State, Comment (the executor's
    rule_<rule>[_wildcards_...]) and ExitCode. Waits until none is pending or running."""
    deadline = time.monotonic() + timeout
    while True:
        out = _run("sacct", "-n", "-X", "-P", "--name", name, "--starttime", "now-1days",
                   "-o", "JobID,State,Comment,ExitCode").stdout
        jobs = [dict(zip(("JobID", "State", "Comment", "ExitCode"), line.split("|")))
                for line in out.splitlines() if line.strip()]
        if all(j["State"] not in ("PENDING", "RUNNING", "COMPLETING") for j in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


def rule_of(job: dict) -> str:
    """The rule of a job submitted by the Snakemake executor (from its comment)."""
    match = re.match(r"rule_(.+?)(_wildcards_.*)?$", job["Comment"])
    return match.group(1) if match else f"(comment {job['Comment']!r})"


def snakemake_jobs(output: str) -> dict[str, int]:
    """The job-stats table Snakemake prints when it starts: rule -> number of jobs."""
    counts = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Job stats:"):
            for row in lines[i + 3:]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
                    break
                counts[parts[0]] = int(parts[1])
            break
    return counts


def squeue(*args: str) -> list[str]:
    return [line for line in _run("squeue", "-h", *args).stdout.splitlines() if line.strip()]


def small_default_study(name: str = "default_small") -> dict:
    """The default study (config/config.yaml) on a smaller mesh and sphere grid and fewer LLG
    trajectories, so that each stage takes seconds: the same model, stages and LLG drive from
    the study's own sphere maps, and the same named trajectories."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["study"] = name
    cfg["mesh"] = dict(cfg["mesh"], radial_panels=8, radial_order=4, n_angle=4)
    cfg["sphere"] = {"n_theta": 9, "n_phi": 8}
    cfg["compute"] = {"points_per_chunk": 4}
    cfg["llg"]["axes"] = {"theta0": [0.4, 0.45, 0.55], "phi0": [1.3, 1.5, 1.9]}
    return cfg


def write_study(workdir: Path, cfg: dict) -> Path:
    path = workdir / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def assert_same_stores(a: Path, b: Path, names) -> None:
    """The stores ``names`` of the study folders ``a`` and ``b`` hold the same bits."""
    from magcore.compare import report

    for name in names:
        text, same = report(a / name, b / name)
        assert same, text
