"""The stage entry points (magcore.stages.run_bands, run_sphere, run_texture) called directly,
in-process, on tiny studies: what they write, the chemical potential they pass on, and what
they refuse (an upstream store of another study or of other model-file contents, a bad
config), writing nothing then.

The stages ask ``magcore.stages.dask_client_from_config`` for a Dask client; here it yields
``None`` (the library then computes in this process), so no cluster is started."""

import warnings

import numpy as np
import pytest

from magcore import stages
from magcore.bands import energies
from magcore.config import validate
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.sphere import unit_vectors
from magcore.store import open_store

QWZ = {"study": "stages", "model": {"name": "qwz", "parameters": {"u": -1.0, "J": 0.3}},
       "electrons": {"filling": 1}, "mesh": {"n_k": 8}, "sphere": {"n_theta": 3, "n_phi": 2},
       "bands": {"path_points": 11}}
TI_SURFACE = {"study": "surface", "model": {"name": "ti_surface", "parameters": {"J": 0.5}},
              "mesh": {"k_cutoff": 20.0, "radial_panels": 4, "radial_order": 4, "n_angle": 4},
              "sphere": {"n_theta": 5, "n_phi": 4}, "bands": {"path_points": 11}}
WTE2 = {"study": "walls", "model": {"name": "tmd", "material": "WTe2", "parameters": {"J": 0.1}},
        "electrons": {"filling": 2}, "mesh": {"n_k": 6}, "sphere": {"n_theta": 3, "n_phi": 2},
        "bands": {"path_points": 11}, "texture": {"enabled": True, "n_points": 3, "rotation_grid": [2, 2]}}


def config(raw, results):
    return validate({**raw, "results_dir": str(results)})


def quiet(run, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gap-closing warnings of the tiny grids
        return run(*args, **kwargs)


def written(directory):
    """Everything a stage may leave in its output folder: stores, temporaries, checkpoint files
    (an empty .checkpoints folder, the root of every stage's checkpoints, is not counted)."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir() if not (p.name == ".checkpoints" and not any(p.iterdir())))


def assert_described(ds, name):
    for var in ds.data_vars:
        attrs = ds[var].attrs
        assert {"long_name", "units", "equation"} <= set(attrs), (name, var)
        assert attrs["long_name"] and attrs["units"] and attrs["equation"], (name, var)


def assert_complete_store(path, cfg):
    ds = open_store(path)
    assert ds.attrs["complete"] is True
    assert ds.attrs["config_hash"] and ds.attrs["fingerprint"] and ds.attrs["model_fingerprint"]
    assert ds.attrs["model_fingerprint"] == get_model(cfg["model"]["name"], **({"material": cfg["model"]["material"]}
                                                      if cfg["model"].get("material") else {}),
                                                      **cfg["model"]["parameters"]).fingerprint()
    return ds


@pytest.fixture(scope="module")
def qwz_bands(tmp_path_factory):
    """A bands store of the qwz study (made once for the module) and its config."""
    results = tmp_path_factory.mktemp("qwz")
    cfg = config(QWZ, results)
    ds = quiet(stages.run_bands, cfg, results / "bands.zarr")
    return cfg, results / "bands.zarr", ds


@pytest.fixture(scope="module")
def wte2_bands(tmp_path_factory):
    results = tmp_path_factory.mktemp("wte2")
    cfg = config(WTE2, results)
    quiet(stages.run_bands, cfg, results / "bands.zarr")
    return cfg, results / "bands.zarr"


# -- bands ----------------------------------------------------------------------------------------

def test_bands_store_holds_described_variables_and_the_mid_gap_chemical_potential(qwz_bands):
    cfg, path, returned = qwz_bands
    ds = assert_complete_store(path, cfg).load()
    model = get_model("qwz", u=-1.0, J=0.3)
    for var in ("energy_path", "k_path", "energy_mesh", "berry_curvature_k", "mesh_k", "mesh_weight", "k_center",
                "min_gap", "k_min_gap", "gap_closed", "chemical_potential"):
        assert var in ds, var
    assert_described(ds, "bands")
    assert ds.energy_path.attrs["units"] == model.energy_unit == ds.chemical_potential.attrs["units"]
    assert ds.berry_curvature_k.attrs["equation"] == "2.6"
    assert ds.attrs["model"] == "qwz" and ds.attrs["filling"] == 1
    assert ds.sizes["theta"] == 3 and ds.sizes["phi"] == 2 and ds.sizes["path"] == 11
    # mu for a filling of one band: half way between the top of band 0 and the bottom of band 1
    # over the mesh and every direction of the sphere grid (computed here independently)
    mesh = bz_mesh(model.reciprocal_vectors(), 8)
    np.testing.assert_allclose(ds.mesh_k.values, mesh.points, atol=1e-14)
    m = unit_vectors(ds.theta.values, ds.phi.values).reshape(-1, 3)
    E = energies(model, mesh.points[None], m[:, None])
    expected = 0.5 * (E[..., 0].max() + E[..., 1].min())
    mu = float(ds.chemical_potential)
    np.testing.assert_allclose(mu, expected, rtol=0, atol=1e-12)
    assert ds.chemical_potential.attrs["source"] == "filling"
    assert np.all(ds.min_gap.values > 0) and not ds.gap_closed.values.any()
    # the returned dataset is what was written
    np.testing.assert_array_equal(returned.energy_path.values, ds.energy_path.values)
    assert float(returned.chemical_potential) == mu


def test_bands_chemical_potential_from_the_config(tmp_path):
    cfg = config({**TI_SURFACE, "electrons": {"chemical_potential": 0.125}}, tmp_path)
    ds = quiet(stages.run_bands, cfg, tmp_path / "bands.zarr")
    back = open_store(tmp_path / "bands.zarr")
    assert float(back.chemical_potential) == float(ds.chemical_potential) == 0.125
    assert back.chemical_potential.attrs["source"] == "config" and back.attrs["filling"] == -1


# -- sphere ---------------------------------------------------------------------------------------

def test_sphere_stage_in_process_uses_the_bands_chemical_potential(qwz_bands, tmp_path, no_dask):
    cfg, bands_path, _ = qwz_bands
    # another study name, results folder and chunking: the same physics, so the bands store fits
    cfg = config({**QWZ, "study": "renamed", "compute": {"points_per_chunk": 2}}, tmp_path)
    ds = quiet(stages.run_sphere, cfg, bands_path, tmp_path / "sphere.zarr")
    assert no_dask == [(1, None)]  # one client asked for, one thread
    back = assert_complete_store(tmp_path / "sphere.zarr", cfg).load()
    assert back.attrs["chemical_potential"] == float(open_store(bands_path).chemical_potential)
    for var in ("berry_curvature_mm", "gyromagnetic_ratio", "free_energy", "effective_field", "damping",
                "field_induced_field", "torque_H", "charge_pumping_intrinsic", "flag"):
        assert var in back, var
    assert_described(back, "sphere")
    assert back.sizes["theta"] == 3 and back.sizes["phi"] == 2
    np.testing.assert_array_equal(back.free_energy.values, ds.free_energy.values)
    assert np.all(np.isfinite(back.berry_curvature_mm.values))  # gapped everywhere
    # the checkpoints of the run are removed once the store is written
    assert written(tmp_path) == ["sphere.zarr"]


def test_sphere_stage_takes_the_gap_closings_from_the_bands_store(tmp_path, no_dask):
    cfg = config(TI_SURFACE, tmp_path)
    bands = quiet(stages.run_bands, cfg, tmp_path / "bands.zarr")
    equator = np.isclose(bands.theta.values, np.pi / 2)
    assert bands.gap_closed.values[equator].all() and not bands.gap_closed.values[~equator].any()
    ds = quiet(stages.run_sphere, cfg, tmp_path / "bands.zarr", tmp_path / "sphere.zarr")
    assert np.all(ds.flag.values[equator] & 1)
    assert np.all(np.isnan(ds.berry_curvature_theta_phi.values[equator]))
    assert np.all(np.isfinite(ds.berry_curvature_theta_phi.values[~equator]))


OTHER_STUDIES = [
    ("model", {"model": {"name": "qwz", "parameters": {"u": -1.5, "J": 0.3}}}),
    ("electrons", {"electrons": {"filling": 1, "temperature": 0.01}}),
    ("mesh", {"mesh": {"n_k": 10}}),
    ("sphere", {"sphere": {"n_theta": 5, "n_phi": 2}}),
    ("magnetization", {"magnetization": {"magnitude": 0.5}}),
]


@pytest.mark.parametrize("section, change", OTHER_STUDIES, ids=[s for s, _ in OTHER_STUDIES])
def test_sphere_refuses_a_bands_store_of_another_study_and_writes_nothing(qwz_bands, tmp_path, no_dask,
                                                                           section, change):
    _, bands_path, _ = qwz_bands
    cfg = config({**QWZ, **change}, tmp_path)
    with pytest.raises(ValueError, match=f"different '{section}' section.*rerun its stage"):
        stages.run_sphere(cfg, bands_path, tmp_path / "sphere.zarr")
    assert written(tmp_path) == [] and no_dask == []  # refused before any cluster or checkpoint


def test_sphere_refuses_a_bands_store_made_from_other_model_file_contents(tmp_path, monkeypatch, no_dask):
    from magcore.models.tight_binding import hoppings_from_model, write_wannier90_hr

    monkeypatch.chdir(tmp_path)

    def write_hr(u):
        write_wannier90_hr(tmp_path / "m_hr.dat", hoppings_from_model(get_model("qwz", u=u), np.zeros(3), 4))

    write_hr(-1.0)
    raw = {**QWZ, "model": {"name": "tight_binding",
                            "source": {"hr_dat": "m_hr.dat", "lattice_vectors": [[1, 0], [0, 1]], "spin": "none"}}}
    cfg = config(raw, tmp_path / "results")
    quiet(stages.run_bands, cfg, tmp_path / "results" / "bands.zarr")
    fingerprint = open_store(tmp_path / "results" / "bands.zarr").attrs["model_fingerprint"]
    write_hr(-1.5)  # the same file name and config, another material
    assert get_model("tight_binding", source=raw["model"]["source"]).fingerprint() != fingerprint
    with pytest.raises(ValueError, match="other contents of m_hr.dat"):
        stages.run_sphere(cfg, tmp_path / "results" / "bands.zarr", tmp_path / "results" / "sphere.zarr")
    assert written(tmp_path / "results") == ["bands.zarr"] and no_dask == []


# -- texture --------------------------------------------------------------------------------------

def test_texture_stage_in_process(wte2_bands, tmp_path, no_dask):
    cfg, bands_path = wte2_bands
    cfg = config({**WTE2, "compute": {"k_block": 16}}, tmp_path)
    ds = quiet(stages.run_texture, cfg, bands_path, tmp_path / "texture.zarr")
    assert no_dask == [(1, None)]
    back = assert_complete_store(tmp_path / "texture.zarr", cfg).load()
    assert list(back.wall.values) == ["bloch", "neel"] and back.sizes["y"] == 3
    for var in ("spin_density_first_chern", "spin_density_second_chern", "spin_density_geometric",
                "spin_density_spin_dipole", "dmi_tensor", "kappa", "wall_rotation_second_chern"):
        assert var in back, var
        assert np.all(np.isfinite(back[var].values)), var
    assert_described(back, "texture")
    assert back.wall_rotation_second_chern.attrs["equation"] == "3.84-3.85"
    assert back.attrs["chemical_potential"] == float(open_store(bands_path).chemical_potential)
    np.testing.assert_array_equal(back.kappa.values, ds.kappa.values)
    assert written(tmp_path) == ["texture.zarr"]


def test_texture_refuses_a_bands_store_of_another_mesh_and_writes_nothing(wte2_bands, tmp_path, no_dask):
    _, bands_path = wte2_bands
    cfg = config({**WTE2, "mesh": {"n_k": 8}}, tmp_path)
    with pytest.raises(ValueError, match="different 'mesh' section"):
        stages.run_texture(cfg, bands_path, tmp_path / "texture.zarr")
    assert written(tmp_path) == [] and no_dask == []


# -- bad input: an error, and nothing written -------------------------------------------------------

def test_overlapping_bands_for_a_filling_are_refused_and_nothing_is_written(tmp_path):
    cfg = config({"model": {"name": "rashba_fm"}, "electrons": {"filling": 1},
                  "mesh": {"k_cutoff": 3.0, "radial_panels": 4, "radial_order": 4, "n_angle": 8},
                  "sphere": {"n_theta": 3, "n_phi": 2}}, tmp_path)
    with pytest.raises(ValueError, match="bands 0 and 1 overlap.*set electrons.chemical_potential"):
        stages.run_bands(cfg, tmp_path / "out" / "bands.zarr")
    assert written(tmp_path / "out") == []


def test_a_missing_bands_store_is_an_error_and_nothing_is_written(tmp_path, no_dask):
    cfg = config(QWZ, tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.zarr"):
        stages.run_sphere(cfg, tmp_path / "nope.zarr", tmp_path / "out" / "sphere.zarr")
    assert written(tmp_path / "out") == [] and no_dask == []


def test_an_unknown_model_is_an_error_and_nothing_is_written(tmp_path):
    cfg = config(QWZ, tmp_path)
    cfg["model"]["name"] = "no_such_model"  # past the validation (which would refuse it)
    with pytest.raises((ValueError, KeyError), match="no_such_model"):
        stages.run_bands(cfg, tmp_path / "out" / "bands.zarr")
    assert written(tmp_path / "out") == []


@pytest.mark.parametrize("stage", ["sphere", "texture"])
def test_a_bands_store_of_another_model_definition_is_refused(wte2_bands, tmp_path, monkeypatch, no_dask, stage):
    from magcore.models import tmd

    cfg, bands_path = wte2_bands
    monkeypatch.setitem(tmd.MATERIALS, "WTe2", {**tmd.MATERIALS["WTe2"], "t0": -0.2})  # a corrected table
    model = get_model("tmd", material="WTe2", J=0.1)
    assert model.fingerprint() != open_store(bands_path).attrs["model_fingerprint"]
    run = stages.run_sphere if stage == "sphere" else stages.run_texture
    with pytest.raises(ValueError, match="model"):
        quiet(run, cfg, bands_path, tmp_path / f"{stage}.zarr")
    assert written(tmp_path) == []
