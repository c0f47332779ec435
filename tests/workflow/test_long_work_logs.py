"""The logs of a real Snakemake run: the bands stage's gap map with a rate, each warning once and
on one line, a warning summary at the end of every stage log and in summary.txt, and a Dask
shutdown without killed workers or leaked semaphores."""

import pytest
import yaml

from conftest import run_snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TINY = {
    "study": "tiny_logs",
    "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
    "mesh": {"k_cutoff": 40.0, "radial_panels": 8, "radial_order": 4, "n_angle": 4},
    "sphere": {"n_theta": 5, "n_phi": 4},  # the equator row closes the gap: one warning per stage
    "bands": {"path_points": 21},
    "compute": {"points_per_chunk": 7, "k_block": 50},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("logs")
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    proc = run_snakemake(work, "--cores", "2", "--configfile", str(work / "tiny.yaml"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work / "results" / "tiny_logs", proc.stdout + proc.stderr


def test_every_stage_log_ends_with_its_warning_summary(run):
    study, _ = run
    for stage in ("bands", "sphere", "figures", "summary"):
        lines = (study / "logs" / f"{stage}.log").read_text().splitlines()
        summary = [i for i, line in enumerate(lines) if "warnings of this stage:" in line]
        assert summary and all(line.startswith("  ") for line in lines[summary[-1] + 1:]), (stage, lines[-3:])


def test_each_gap_warning_is_shown_once_on_one_line(run):
    study, out = run
    bands = (study / "logs" / "bands.log").read_text()
    assert bands.count("WARNING: RuntimeWarning: the gap at mu closes") == 1
    assert "warnings of this stage: 1\n  RuntimeWarning: the gap at mu closes" in bands
    sphere = (study / "logs" / "sphere.log").read_text()
    assert sphere.count("WARNING: GapClosingWarning:") == 1
    assert out.count("WARNING: RuntimeWarning: the gap at mu closes") == 1  # the terminal too
    for text in (bands, sphere, out):
        assert ".py:" not in text and "snakemake/scripts" not in text


def test_the_gap_map_logs_a_rate(run):
    study, _ = run
    gap = [line for line in (study / "logs" / "bands.log").read_text().splitlines() if "gap map:" in line]
    assert gap and all("directions/s" in line and "s left" in line for line in gap)


def test_summary_txt_lists_the_warnings_of_the_stages(run):
    study, _ = run
    text = (study / "summary.txt").read_text()
    tail = text[text.index("== warnings of the stages"):]
    assert "   bands.log: 1 warning\n      RuntimeWarning: the gap at mu closes" in tail
    assert "   sphere.log: 1 warning\n      GapClosingWarning:" in tail


def test_dask_shuts_down_quietly(run):
    _, out = run
    assert "killing" not in out and "leaked semaphore" not in out
