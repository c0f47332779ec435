"""Every model through the real Snakemake pipeline (bands -> sphere -> figures), tiny configs."""

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.workflow

SMALL_SPHERE = {"n_theta": 5, "n_phi": 4}
STUDIES = {
    "ti_edge": {"model": {"name": "ti_edge", "parameters": {"J": 0.5}},
                "mesh": {"k_cutoff": 30.0, "radial_panels": 8, "radial_order": 4}},
    "tmd": {"model": {"name": "tmd", "material": "MoS2", "parameters": {"J": 0.2}},
            "electrons": {"filling": 2}, "mesh": {"n_k": 12}},
    # a metal at mu = 0: without smearing its Fermi-surface quantities would be NaN (flag bit 8)
    "rashba_fm": {"model": {"name": "rashba_fm", "parameters": {"J": 0.2}}, "electrons": {"smearing": 0.1},
                  "mesh": {"k_cutoff": 3.0, "radial_panels": 4, "radial_order": 4, "n_angle": 8}},
    "qwz": {"model": {"name": "qwz", "parameters": {"u": -1.0, "J": 0.3}}, "electrons": {"filling": 1},
            "mesh": {"n_k": 12}},
    "dirac4d": {"model": {"name": "dirac4d", "parameters": {"m0": -3.0, "J": 0.3}}, "electrons": {"filling": 2},
                "mesh": {"n_k": 4}, "electric_field": [1.0, 0.0, 0.0]},
    "tight_binding": {"model": {"name": "tight_binding",
                                "source": {"hr_dat": "qwz_hr.dat", "lattice_vectors": [[1, 0], [0, 1]],
                                           "spin": "none"}},
                      "electrons": {"filling": 1}, "mesh": {"n_k": 12}},
}


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_model_runs_end_to_end(tmp_path, name):
    cfg = {"study": name, "sphere": SMALL_SPHERE, "bands": {"path_points": 31}, **STUDIES[name]}
    if name == "tight_binding":
        from magcore.models import get_model
        from magcore.models.tight_binding import hoppings_from_model, write_wannier90_hr

        hr = hoppings_from_model(get_model("qwz", u=-1.0), np.zeros(3), 4)
        write_wannier90_hr(tmp_path / "qwz_hr.dat", hr)
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(tmp_path / "study.yaml"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    study = tmp_path / "results" / name
    bands = xr.open_zarr(study / "bands.zarr")
    sphere = xr.open_zarr(study / "sphere.zarr")
    assert bands.attrs["complete"] and sphere.attrs["complete"]
    assert np.all(np.isfinite(bands.energy_path.values))
    assert sphere.sizes["field"] == bands.sizes["k_dim"]
    ok = sphere.flag.values == 0
    assert ok.any()
    assert np.all(np.isfinite(sphere.berry_curvature_mm.values[ok]))
    assert np.all(np.isfinite(sphere.free_energy.values))
    for png in (study / "figures").glob("*.png"):
        assert png.stat().st_size > 10_000
    assert len(list((study / "figures").glob("*.png"))) == 6


def test_texture_stage_end_to_end(tmp_path):
    cfg = {"study": "walls", "model": {"name": "tmd", "material": "WTe2", "parameters": {"J": 0.1}},
           "electrons": {"filling": 2}, "mesh": {"n_k": 12}, "sphere": SMALL_SPHERE,
           "texture": {"enabled": True, "n_points": 5, "rotation_grid": [4, 4]}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(tmp_path / "study.yaml"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    study = tmp_path / "results" / "walls"
    tex = xr.open_zarr(study / "texture.zarr").load()
    assert list(tex.wall.values) == ["bloch", "neel"]
    assert tex.attrs["complete"]
    for name in ("spin_density_second_chern", "spin_density_spin_dipole", "spin_density_first_chern", "kappa"):
        assert np.all(np.isfinite(tex[name].values)), name
        for attr in ("long_name", "units", "equation"):
            assert attr in tex[name].attrs
    assert abs(float(tex.wall_rotation_second_chern)) < 0.05  # C2 = 0 (3.84-3.85), coarse grid
    for fig in ("fig3_5_bloch_wall_second_chern", "fig3_7_neel_wall_second_chern",
                "fig3_8_bloch_wall_spin_dipole", "fig3_9_neel_wall_spin_dipole"):
        assert (study / "figures" / f"{fig}.png").stat().st_size > 10_000
    assert "spin_density_spin_dipole" in (study / "summary.txt").read_text()


def test_llg_stage_driven_by_the_studys_sphere_maps(tmp_path, repo):
    """Section 2.3 with the pipeline's own tabulated maps: starts near the equator with phi in
    (pi, 2 pi) end on the half equator phi in (0, pi) under E (eqs. 2.36-2.37)."""
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    cfg["study"] = "ti_llg"
    cfg["sphere"] = {"n_theta": 37, "n_phi": 36}
    cfg["llg"]["axes"] = {"theta0": [0.47, 0.53], "phi0": [1.2, 1.5, 1.8]}
    cfg["llg"]["record"] = {"a": {"theta0": 0.47, "phi0": 1.5}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(tmp_path / "study.yaml"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    study = tmp_path / "results" / "ti_llg"
    llg = xr.open_zarr(study / "llg.zarr").load()
    assert llg.attrs["complete"]
    fixed = llg.final_class.attrs["flag_values"][llg.final_class.attrs["flag_meanings"].split().index("fixed_point")]
    assert np.all(llg.final_class.values == fixed)
    m = llg.final_m.values
    assert np.all(np.abs(m[..., 2]) < 1e-3)  # on the equator
    assert np.all(m[..., 1] > 0)  # the half phi in (0, pi)
    for png in ("llg_trajectories.png", "llg_phase_diagram.png"):
        assert (study / "figures" / png).stat().st_size > 10_000
