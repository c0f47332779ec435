"""The SLURM profile as Snakemake reads it (dry runs, no cluster needed): every job of the
shipped studies, single studies and sweeps, gets the threads, memory and runtime of the profile
(the table in the README, tests/unit/test_cluster.py)."""

import re

import pytest
import yaml

from slurm_helpers import PROFILE, REPO, profile, run_snakemake

pytestmark = pytest.mark.workflow


def _jobs(out: str) -> dict[str, str]:
    """rule -> the text of its (first) job block in a dry run."""
    blocks = {}
    for block in re.split(r"\n(?=[ \t]*(?:local)?rule \w+:)", out):   # (indented in a group job)
        m = re.match(r"\s*(?:local)?rule (\w+):", block)
        if m:
            blocks.setdefault(m.group(1), block)
    return blocks


def test_every_job_of_the_shipped_studies_gets_the_profiles_resources(tmp_path):
    # and the default study as a sweep with a mesh axis: the sweep's LLG figure and convergence too
    sweep = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    sweep["sweep"] = {"axes": {"J": {"values": [0.5, 1.0]}, "n_angle": {"values": [4, 8]}}}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    seen = {}
    for study in ("config/config.yaml", "config/wte2.yaml", "config/ti_edge_llg.yaml", "config/tmd_sweep.yaml",
                  str(tmp_path / "sweep.yaml")):
        proc = run_snakemake(tmp_path, "-n", "-F", "--profile", str(PROFILE), "--configfile", str(REPO / study))
        assert proc.returncode == 0, proc.stderr[-3000:]
        seen.update(_jobs(proc.stdout + proc.stderr))
    prof = profile()
    assert set(prof["set-resources"]) <= set(seen), set(prof["set-resources"]) - set(seen)
    for rule, res in prof["set-resources"].items():
        block = seen[rule]
        threads = prof["set-threads"][rule]
        assert re.search(rf"\bmem_mb={res['mem_mb']}\b", block), block
        assert re.search(rf"\bruntime={res['runtime']}\b", block), block
        # (a dry run prints the threads only when there are more than one)
        assert bool(re.search(rf"threads: {threads}\n", block)) == (threads > 1), block
    assert not (tmp_path / "results").exists()
