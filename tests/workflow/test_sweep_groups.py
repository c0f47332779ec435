"""Blocks of sweep points per cluster job: the ``sweep_point`` rule is in the Snakemake group
``sweep_points``, so ``--group-components sweep_points=N`` submits N points per job (a dry run
with the SLURM executor shows the group jobs; locally groups are ignored)."""

import importlib.util

import pytest
import yaml

from conftest import run_snakemake

pytestmark = [pytest.mark.workflow,
              pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
                                 reason="snakemake-executor-plugin-slurm is not installed")]

STUDY = {"study": "groups", "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
         "mesh": {"k_cutoff": 20.0, "radial_panels": 2, "radial_order": 2, "n_angle": 4},
         "sphere": {"n_theta": 3, "n_phi": 2}, "bands": {"path_points": 11}, "llg": {"enabled": False},
         "sweep": {"axes": {"J": {"values": [0.5, 0.8, 1.1, 1.4, 1.7]},
                            "chemical_potential": {"values": [0.0, 0.3]}}}}


@pytest.mark.parametrize("per_job, groups", [(2, 3), (5, 1)])
def test_points_are_submitted_in_blocks(tmp_path, per_job, groups):
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(STUDY))
    proc = run_snakemake(tmp_path, "-n", "--executor", "slurm", "--jobs", "10", "--group-components",
                         f"sweep_points={per_job}", "--configfile", "study.yaml", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert out.count("Group job sweep_points") == groups, out[-3000:]
