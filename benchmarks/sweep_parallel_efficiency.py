"""Parallel efficiency of a parameter sweep through the real Snakemake workflow.

A small sweep (one or two exchange strengths J, the expensive axis: one ``sweep_point`` job
each; 6 chemical potentials, the cheap axis, inside each job) is run in fresh folders:

  (i)   one expensive point, ``--cores 1``;
  (i')  the same, the whole process tree pinned to one CPU (``sched_setaffinity``): ``--cores 1``
        limits the jobs' threads, not the process tree (Snakemake itself, the job's Dask
        scheduler, nanny and worker processes), which on a 2-CPU machine also uses the other CPU
        a little (the "points cpu s" column: CPU time of the whole tree);
  (ii)  two expensive points, ``--cores 2``, the rule's own threads (``sweep_point`` asks for
        cores // points, at least 1: one core per job here, the two jobs side by side);
  (iii) two expensive points, ``--cores 2 --set-threads sweep_point=1`` (one core per job, the
        two jobs side by side).

Each run is timed in two phases: the point jobs (``--until sweep_point``) and then the rest (the
two combine jobs, bands and sphere; the figure and summary rules are not asked for).  Wall times
include Snakemake's start-up and every job's process start, as a user sees them.  With two
points on two cores against one point on one core, perfect scaling takes the same time:

    speed-up   = 2 t(i) / t(ii)   (the time two points take one after the other on one core,
                                   over the time they take on two cores)
    efficiency = speed-up / 2 = t(i) / t(ii)          (issue 17's target: >= 0.9)

(printed for (ii) and (iii), against (i) and (i')).

The combined stores of (ii) and (iii) must be the same bits (the point results do not depend on
the number of Dask workers).  The numba kernels are loaded (or compiled) once before timing.
The model is ti_surface by default (a point job ~35 s on one core); ``--model tmd`` runs a tmd
sweep (before 2abef53 every new process recompiled the tmd occupied-curvature lane kernel, ~8 s
per job, and two jobs doing so at once often crashed in numba's cache).
With ``--repeat N`` every configuration runs N times, in turn, and the fastest run of each (by
the point jobs' wall time) is shown.
The last column is the CPU the machine's other processes used during each run (average number
of cores, from /proc/stat less this run's own CPU time): the numbers mean something only when it
is close to 0.

    python benchmarks/sweep_parallel_efficiency.py [--model ti_surface|tmd] [--mesh N] [--n-theta 16] [--n-phi 16]
                                                   [--n-mu 6] [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = ("bands", "sphere")
OTHERS = 0.0
"""CPU seconds used by other processes (not this benchmark's) during the timed runs."""


def study(model: str, mesh: int, n_theta: int, n_phi: int, n_mu: int, j_values: list[float]) -> dict:
    """The benchmark's study: ``mesh`` is tmd's n_k, or ti_surface's n_angle (with mesh // 2
    radial panels of order 8, out to k_cutoff 60)."""
    if model == "tmd":
        base = {"model": {"name": "tmd", "material": "MoS2", "parameters": {"J": j_values[0]}},
                "electrons": {"chemical_potential": 1.2, "temperature": 0.0, "smearing": 0.05,
                              "relaxation_time": 1.0},
                "mesh": {"n_k": mesh}}
        mu = {"start": 0.4, "stop": 2.4, "num": n_mu}
    else:
        base = {"model": {"name": "ti_surface", "parameters": {"J": j_values[0], "v": 1.0}},
                "electrons": {"chemical_potential": 0.3, "temperature": 0.02},
                "mesh": {"k_cutoff": 60.0, "radial_panels": mesh // 2, "radial_order": 8, "n_angle": mesh}}
        mu = {"start": 0.0, "stop": 0.45, "num": n_mu}
    return {"study": "sweep_bench", **base,
            "sphere": {"n_theta": n_theta, "n_phi": n_phi},
            "bands": {"path_points": 61},
            "electric_field": [0.1, 0.0],
            "llg": {"enabled": False},
            "sweep": {"axes": {"J": {"values": j_values}, "chemical_potential": mu}}}


def warm_up() -> None:
    """Load the six-band kernels from the numba cache (compile them on a cold cache) in this
    process, so that no timed job pays for a compilation."""
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


def _cpu_of_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def snakemake(work: Path, args: list[str], cpus: set[int] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (of the whole process tree: Snakemake, its jobs, their Dask workers)
    of one Snakemake run, and its output; ``cpus``: pin the tree to these CPUs.  The CPU time
    of other processes in the meantime is added to the global ``OTHERS`` (see ``main``)."""
    global OTHERS
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
           *args]
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    busy0, cpu0, t0 = _busy_cpu_seconds(), _cpu_of_children(), time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=work, capture_output=True, text=True, preexec_fn=pin,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall, cpu = time.perf_counter() - t0, _cpu_of_children() - cpu0
    OTHERS += max(_busy_cpu_seconds() - busy0 - cpu, 0.0)
    if proc.returncode:
        (work / "snakemake-failed.txt").write_text(proc.stdout + proc.stderr)
        errors = [line for line in (proc.stdout + proc.stderr).splitlines() if re.search(r"Error|error:", line)]
        sys.exit(f"snakemake failed in {work} (its output: {work / 'snakemake-failed.txt'}):\n" + "\n".join(errors[:20]))
    return wall, cpu, proc.stdout + proc.stderr


def job_spans(output: str, rule: str) -> list[tuple[datetime, datetime]]:
    """(start, end) of every job of ``rule`` from Snakemake's output (to one second)."""
    stamp = None
    starts, spans = {}, []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line.strip())
        if m:
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            continue
        if line.strip() in (f"rule {rule}:", f"localrule {rule}:"):
            for nxt in lines[i + 1:i + 12]:
                j = re.match(r"\s*jobid: (\d+)", nxt)
                if j:
                    starts[j.group(1)] = stamp
                    break
        f = re.match(r"Finished jobid: (\d+) \(Rule: (\w+)\)", line.strip())
        if f and f.group(2) == rule:
            spans.append((starts[f.group(1)], stamp))
    return spans


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


def run(work: Path, cfg: dict, cores: int, extra: list[str], cpus: set[int] | None = None) -> dict:
    work.mkdir(parents=True)
    (work / "sweep.yaml").write_text(yaml.safe_dump(cfg))
    targets = [f"results/{cfg['study']}/{stage}.zarr/zarr.json" for stage in STAGES]
    args = [*targets, "--cores", str(cores), "--configfile", str(work / "sweep.yaml"), *extra]
    others = OTHERS
    t_points, cpu_points, out_points = snakemake(work, [*args, "--until", "sweep_point"], cpus)
    t_combine, _, _ = snakemake(work, args, cpus)
    logs = "".join(p.read_text() for p in (work / "results" / cfg["study"] / "logs" / "points").glob("*.log"))
    workers = sorted({int(w) for w in re.findall(r"local Dask cluster: (\d+) worker", logs)})
    threads = sorted({int(t) for t in re.findall(r"^\s*threads: (\d+)", out_points, re.MULTILINE)}) or [1]
    spans = job_spans(out_points, "sweep_point")
    return {"points": t_points, "cpu_points": cpu_points, "others": (OTHERS - others) / (t_points + t_combine), "combine": t_combine, "total": t_points + t_combine,
            "workers": workers, "threads": threads, "at_once": most_at_once(spans), "jobs": len(spans)}


def same_stores(a: Path, b: Path) -> bool:
    import xarray as xr

    for stage in STAGES:
        da, db = xr.open_zarr(a / f"{stage}.zarr").load(), xr.open_zarr(b / f"{stage}.zarr").load()
        if set(da.variables) != set(db.variables):
            return False
        for name in da.variables:
            x, y = da[name].values, db[name].values
            if x.dtype != y.dtype or x.shape != y.shape:
                return False
            if x.dtype.kind in "fc":
                if not np.array_equal(x.view(np.uint8), y.view(np.uint8)):
                    return False
            elif not np.array_equal(x, y):
                return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("ti_surface", "tmd"), default="ti_surface",
                        help="the model of the sweep (its default sizes: see --mesh, --n-theta, --n-phi)")
    parser.add_argument("--mesh", type=int, help="ti_surface n_angle (default 48) or tmd n_k (default 160)")
    parser.add_argument("--n-theta", type=int, help="default 16 (ti_surface), 6 (tmd)")
    parser.add_argument("--n-phi", type=int, help="default 16 (ti_surface), 6 (tmd)")
    parser.add_argument("--n-mu", type=int, default=6, help="chemical potentials per expensive point")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every configuration this many times (in turn) and keep the fastest run of each")
    parser.add_argument("--keep", type=Path, help="run in this (new) folder and keep it")
    args = parser.parse_args(argv)
    tmd = args.model == "tmd"
    mesh = args.mesh or (160 if tmd else 48)
    n_theta, n_phi = args.n_theta or (6 if tmd else 16), args.n_phi or (6 if tmd else 16)
    j = [0.1, 0.2] if tmd else [0.5, 0.8]
    warm_up()
    base = args.keep or Path(tempfile.mkdtemp(prefix="magcore-sweep-bench-"))
    runs = [("(i)", j[:1], 1, [], None),
            ("(i')", j[:1], 1, [], {min(os.sched_getaffinity(0))}),
            ("(ii)", j, 2, [], None),
            ("(iii)", j, 2, ["--set-threads", "sweep_point=1"], None)]
    mesh_text = f"{mesh} x {mesh} k-points" if tmd else f"{mesh // 2} radial panels of order 8 x {mesh} angles"
    print(f"{args.model} sweep: {mesh_text}, {n_theta} x {n_phi} magnetizations, {args.n_mu} chemical potentials "
          f"per expensive point (J = {', '.join(map(str, j))})")
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    results = {}
    try:
        for rep in range(args.repeat):
            for name, j_values, cores, extra, cpus in runs:
                cfg = study(args.model, mesh, n_theta, n_phi, args.n_mu, j_values)
                folder = name.strip("()").replace("'", "p") + (f"-{rep}" if args.repeat > 1 else "")
                r = run(base / folder, cfg, cores, extra, cpus)
                r["folder"] = folder
                r["n"] = len(j_values) * args.n_mu
                r["label"] = f"{len(j_values)} point(s), --cores {cores} {' '.join(extra)}".strip()
                if cpus:
                    r["label"] += f", pinned to CPU {','.join(map(str, sorted(cpus)))}"
                print(f"  {name} done: points {r['points']:.1f} s, total {r['total']:.1f} s; other processes "
                      f"{r['others']:.2f} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
                if name not in results or r["points"] < results[name]["points"]:
                    results[name] = r
        print()
        print(f"{'run':<6} {'what':<68} {'threads/job':>11} {'workers/job':>11} {'jobs at once':>12} "
              f"{'points s':>9} {'points cpu s':>12} {'combine s':>9} {'total s':>8} {'sweep pts/s':>11} "
              f"{'other procs, cores':>18}")
        for name, r in results.items():
            print(f"{name:<6} {r['label']:<68} {','.join(map(str, r['threads'])):>11} "
                  f"{','.join(map(str, r['workers'])):>11} {r['at_once']:>12} {r['points']:>9.1f} "
                  f"{r['cpu_points']:>12.1f} {r['combine']:>9.1f} {r['total']:>8.1f} {r['n'] / r['total']:>11.3f} "
                  f"{r['others']:>18.2f}")
        print()
        for one in ("(i)", "(i')"):
            for name in ("(ii)", "(iii)"):
                for phase in ("points", "total"):
                    speed_up = 2 * results[one][phase] / results[name][phase]
                    print(f"{name:<5} against {one:<4} {phase:<6}: speed-up 2 t{one}/t{name} = {speed_up:.2f}, "
                          f"parallel efficiency t{one}/t{name} = {speed_up / 2:.2f}")
        same = same_stores(base / results["(ii)"]["folder"] / "results" / "sweep_bench",
                           base / results["(iii)"]["folder"] / "results" / "sweep_bench")
        print(f"\ncombined stores of (ii) and (iii) bitwise equal: {same}")
        print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
