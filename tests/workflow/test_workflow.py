"""The real Snakemake workflow, run on tiny configs in temporary directories."""

import re

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.workflow

TINY = {
    "study": "tiny",
    "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
    "mesh": {"k_cutoff": 40.0, "radial_panels": 8, "radial_order": 4, "n_angle": 4},
    "sphere": {"n_theta": 5, "n_phi": 4},
    "bands": {"path_points": 21},
    "compute": {"points_per_chunk": 7, "k_block": 50},
}


def write_config(path, cfg):
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    cfg = write_config(work / "tiny.yaml", TINY)
    proc = run_snakemake(work, "--cores", "2", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work, proc


def test_tiny_study_produces_stores_and_figures(tiny_run):
    work, _ = tiny_run
    study = work / "results" / "tiny"
    for name in ("bands.zarr", "sphere.zarr"):
        ds = xr.open_zarr(study / name)
        assert ds.attrs["complete"] == 1  # stored as 0/1 (magcore.store.encode_attrs)
        assert ds.attrs["magcore_version"]
        cfg = yaml.safe_load(ds.attrs["config"])
        assert cfg["model"]["parameters"]["J"] == 0.5 and cfg["study"] == "tiny"
        assert len(ds.attrs["config_hash"]) == 64
        for var in ds.data_vars.values():
            for attr in ("long_name", "units", "equation"):
                assert attr in var.attrs, (name, var.name, attr)
    for png in ("fig2_3_gyromagnetic_ratio_free_energy.png", "bands_path.png", "gap_map.png"):
        data = (study / "figures" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_tiny_study_numbers_are_physical(tiny_run):
    work, _ = tiny_run
    sphere = xr.open_zarr(work / "results" / "tiny" / "sphere.zarr").load()
    bands = xr.open_zarr(work / "results" / "tiny" / "bands.zarr").load()
    # the equator (theta index 2 of 5) is a gap closing: NaN + flag, elsewhere finite
    assert np.all(bands.gap_closed.values[2]) and not np.any(bands.gap_closed.values[[0, 1, 3, 4]])
    assert np.all(np.isnan(sphere.gyromagnetic_ratio_s.values[2]))
    assert np.all(sphere.flag.values[2] == 1)
    north = sphere.berry_curvature_theta_phi.sel(theta=np.pi / 4, method="nearest").values
    alpha = 0.5
    np.testing.assert_allclose(north, alpha**2 / (8 * np.pi), rtol=0.02)  # eq. 2.31, k_c = 40


def test_rerun_is_a_no_op(tiny_run):
    work, _ = tiny_run
    proc = run_snakemake(work, "--cores", "2", "--configfile", str(work / "tiny.yaml"))
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dry_run_of_default_config(tmp_path, repo):
    proc = run_snakemake(repo, "-n", "--cores", "2", "--directory", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    for rule in ("bands", "sphere", "figures"):
        assert rule in out
    assert not (tmp_path / "results").exists()


BAD = [
    ({"model": {"name": "graphene"}}, "model.name"),
    ({"sphere": {"n_theta": 5, "nphi": 3}}, "sphere.nphi"),
    ({"mesh": {"k_cutoff": 0}}, "mesh.k_cutoff"),
    ({"mesh": {"radial_panels": -2}}, "mesh.radial_panels"),
    ({"electrons": {"temperature": -1}}, "electrons.temperature"),
    ({"electrons": {"chemical_potential": "0.1"}}, "electrons.chemical_potential"),
]


@pytest.mark.parametrize("bad, key", BAD, ids=[k for _, k in BAD])
def test_bad_config_stops_before_any_job(tmp_path, bad, key):
    cfg = dict(TINY, **bad)
    write_config(tmp_path / "bad.yaml", cfg)
    proc = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(tmp_path / "bad.yaml"))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "config error" in out and key in out, out[-2000:]
    assert not (tmp_path / "results").exists()


def test_report_contains_figures_and_summary(tiny_run):
    work, _ = tiny_run
    summary = (work / "results" / "tiny" / "summary.txt").read_text()
    assert "berry_curvature_theta_phi" in summary and "flag gap_closed" in summary
    proc = run_snakemake(work, "--configfile", str(work / "tiny.yaml"), "--report", str(work / "report.html"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(ERROR/" not in proc.stderr and "(WARNING/" not in proc.stderr, proc.stderr[-2000:]  # captions parse
    html = (work / "report.html").read_text(errors="replace")
    for name in ("fig2_3_gyromagnetic_ratio_free_energy.png", "gap_map.png", "summary.txt"):
        assert name in html
    # the landing text lists the stages of this study: bands, sphere and figures, no texture or llg
    assert "Stages that ran" in html and "chapter-2 coefficient" in html
    assert "domain-wall spin densities" not in html and "LLG trajectories" not in html


def test_lint_clean_and_snakefmt_formatted(tmp_path, repo):
    proc = run_snakemake(repo, "--lint", "--directory", str(tmp_path))
    out = proc.stdout + proc.stderr
    # The one lint allowed: rules declare no conda environment (jobs run the Python Snakemake is
    # started from, README "Running on more cores or a cluster"; test_cluster checks no rule has one).
    lints = set(re.findall(r"^\s+\* (.+?):$", out, flags=re.M))
    assert lints <= {"Specify a conda environment or container for each rule."}, out[-3000:]
    assert "good condition" in out or lints, out[-3000:]
    import subprocess
    import sys

    files = [str(repo / "Snakefile"), *map(str, sorted((repo / "workflow" / "rules").glob("*.smk")))]
    fmt = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# -- the logs of the tiny run: rates, each warning once, warning summaries, a quiet Dask shutdown --


def test_every_stage_log_ends_with_its_warning_summary(tiny_run):
    study = tiny_run[0] / "results" / "tiny"
    for stage in ("bands", "sphere", "figures", "summary"):
        lines = (study / "logs" / f"{stage}.log").read_text().splitlines()
        summary = [i for i, line in enumerate(lines) if "warnings of this stage:" in line]
        assert summary and all(line.startswith("  ") for line in lines[summary[-1] + 1:]), (stage, lines[-3:])


def test_each_gap_warning_is_shown_once_on_one_line(tiny_run):
    study, out = tiny_run[0] / "results" / "tiny", tiny_run[1].stdout + tiny_run[1].stderr
    bands = (study / "logs" / "bands.log").read_text()
    assert bands.count("WARNING: RuntimeWarning: the gap at mu closes") == 1
    assert "warnings of this stage: 1\n  RuntimeWarning: the gap at mu closes" in bands
    sphere = (study / "logs" / "sphere.log").read_text()
    assert sphere.count("WARNING: GapClosingWarning:") == 1
    assert out.count("WARNING: RuntimeWarning: the gap at mu closes") == 1  # the terminal too
    for text in (bands, sphere, out):
        assert ".py:" not in text and "snakemake/scripts" not in text


def test_the_gap_map_logs_a_rate(tiny_run):
    study = tiny_run[0] / "results" / "tiny"
    gap = [line for line in (study / "logs" / "bands.log").read_text().splitlines() if "gap map:" in line]
    assert gap and all("directions/s" in line and "s left" in line for line in gap)


def test_summary_txt_lists_the_warnings_of_the_stages(tiny_run):
    study = tiny_run[0] / "results" / "tiny"
    text = (study / "summary.txt").read_text()
    tail = text[text.index("== warnings of the stages"):]
    assert "   bands.log: 1 warning\n      RuntimeWarning: the gap at mu closes" in tail
    assert "   sphere.log: 1 warning\n      GapClosingWarning:" in tail
    assert "   figures.log: " in tail  # the summary waits for the figures, so their log is complete


def test_dask_shuts_down_quietly(tiny_run):
    out = tiny_run[1].stdout + tiny_run[1].stderr
    assert "killing" not in out and "leaked semaphore" not in out
