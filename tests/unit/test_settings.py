"""Typed settings (magcore.settings): built once from the validated config, defaults only in the
schema, overridable per sweep point, the study's electric field, every compute option reaching
the stages, input files hashed once per stage."""

import contextlib
import dataclasses
from dataclasses import replace

import numpy as np
import pytest

import magcore.settings as settings_module
from magcore import fingerprint, stages
from magcore.config import load, schema, validate
from magcore.electrons import Electrons
from magcore.settings import (
    BandsSettings,
    ComputeLimits,
    ComputeSettings,
    FigureSettings,
    MeshSettings,
    SlurmSettings,
    SphereGrid,
    StudySettings,
    TextureSettings,
)

SHIPPED = ["config.yaml", "wte2.yaml", "ti_edge_llg.yaml"]


def _dataclasses():
    return [obj for obj in vars(settings_module).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == settings_module.__name__]


def test_no_field_has_a_default_in_code():
    for cls in _dataclasses():
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, \
                f"{cls.__name__}.{f.name} has a default: defaults live in the schema"


@pytest.mark.parametrize("cls, path, leave_out", [
    (MeshSettings, ("mesh",), ()), (SphereGrid, ("sphere",), ()), (BandsSettings, ("bands",), ()),
    (TextureSettings, ("texture",), ()), (ComputeSettings, ("compute",), ()),
    (SlurmSettings, ("compute", "slurm"), ()), (ComputeLimits, ("compute", "limits"), ()),
    (FigureSettings, ("figures",), ("electric_field",)),  # the other spelling of the study's field
])
def test_section_dataclasses_cover_their_schema_section(cls, path, leave_out):
    node = schema()
    for key in path:
        node = node["properties"][key]
    assert {f.name for f in dataclasses.fields(cls)} == set(node["properties"]) - set(leave_out)


@pytest.mark.parametrize("study", SHIPPED)
def test_settings_of_every_shipped_study(repo, study):
    cfg = load(repo / "config" / study)
    s = StudySettings.from_config(cfg)
    assert isinstance(s.electrons, Electrons)
    assert s.compute.k_block == cfg["compute"]["k_block"] and s.sphere.n_theta == cfg["sphere"]["n_theta"]
    assert list(s.electric_field) == cfg["electric_field"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.magnitude = 2.0  # type: ignore[misc]
    model = s.model.build()
    assert model.name == cfg["model"]["name"]
    assert s.mesh.build(model).size > 0
    theta, phi = s.sphere.angles()
    assert len(theta) == cfg["sphere"]["n_theta"] and len(phi) == cfg["sphere"]["n_phi"]


def test_a_sweep_point_overrides_values_with_replace():
    base = StudySettings.from_config(validate({"model": {"parameters": {"v": 1.0, "J": 1.0}}}))
    point = replace(base, electrons=replace(base.electrons, chemical_potential=0.25),
                    model=base.model.with_parameters(J=0.5))
    assert point.electrons.chemical_potential == 0.25 and point.model.build().params["J"] == 0.5
    assert point.model.parameters["v"] == base.model.parameters["v"]
    assert base.electrons.chemical_potential == 0.0 and base.model.build().params["J"] == 1.0
    assert point.with_chemical_potential(0.5).electrons.chemical_potential == 0.5


def test_default_study_writes_its_electric_field_once(repo):
    cfg = load(repo / "config" / "config.yaml")
    term = next(t for t in cfg["llg"]["model"]["terms"] if t["kind"] == "sphere_field_induced")
    assert term["electric_field"] is None  # taken from the study
    s = StudySettings.from_config(cfg)
    resolved = next(t for t in s.llg.section["model"]["terms"] if t["kind"] == "sphere_field_induced")
    assert resolved["electric_field"] == cfg["electric_field"] == [160.0, 0.0]
    assert list(resolved) == ["kind", "electric_field", "variable"]
    assert s.llg.section["model"]["gamma"] == cfg["llg"]["model"]["gamma"]  # no field: no renormalisation


def test_llg_terms_take_the_study_field_unless_they_give_their_own():
    cfg = validate({"electric_field": [2.0, 0.0], "llg": {"use_sphere": True, "model": {
        "gamma": {"sphere": "gyromagnetic_ratio", "electric_field": "study"},
        "damping": {"sphere": "damping"},
        "terms": [{"kind": "sphere_field_induced"}, {"kind": "sphere_field_induced", "electric_field": [0.0, 3.0]}],
        "torques": [{"sphere": "torque_gamma"}, {"sphere": "torque_eta", "electric_field": [1.0]}]}}})
    model = StudySettings.from_config(cfg).llg.section["model"]
    assert [t["electric_field"] for t in model["terms"]] == [[2.0, 0.0], [0.0, 3.0]]
    assert [t["electric_field"] for t in model["torques"]] == [[2.0, 0.0], [1.0]]
    assert model["gamma"]["electric_field"] == [2.0, 0.0]
    assert model["damping"]["electric_field"] is None


def test_build_llg_with_the_study_field_equals_the_field_written_in_the_term():
    from magcore.llg import build_llg

    def maps():
        theta, phi = np.linspace(0, np.pi, 7), np.linspace(0, 2 * np.pi, 8, endpoint=False)
        import xarray as xr

        rng = np.random.default_rng(1)
        return xr.Dataset(
            {"field_induced_field": (("theta", "phi", "component", "field"), rng.normal(size=(7, 8, 3, 2)))},
            coords={"theta": theta, "phi": phi, "component": ["x", "y", "z"], "field": ["x", "y"]},
            attrs={"magnetization_magnitude": 1.0})

    ds = maps()
    m = np.array([[0.6, 0.0, 0.8], [0.0, 0.6, -0.8]])
    given = build_llg({"terms": [{"kind": "sphere_field_induced", "electric_field": [1.5, -0.5]}]}, sphere=ds)
    study = build_llg({"terms": [{"kind": "sphere_field_induced"}]}, sphere=ds, electric_field=[1.5, -0.5])
    assert np.array_equal(given.field(m), study.field(m))
    with pytest.raises(ValueError, match="study's electric_field"):
        build_llg({"terms": [{"kind": "sphere_field_induced"}]}, sphere=ds)


def test_every_compute_option_reaches_the_sphere_and_texture_stages(tmp_path, monkeypatch):
    cfg = validate({"study": "compute_options", "results_dir": str(tmp_path),
                    "model": {"name": "tmd", "material": "WTe2"}, "electrons": {"filling": 2},
                    "mesh": {"n_k": 6}, "sphere": {"n_theta": 3, "n_phi": 2},
                    "texture": {"enabled": True, "n_points": 3, "walls": ["bloch"]},
                    "compute": {"points_per_chunk": 7, "k_block": 4096, "wall_points_per_chunk": 3}})
    bands = tmp_path / "bands.zarr"
    stages.run_bands(cfg, bands)
    seen = {}

    @contextlib.contextmanager
    def no_cluster(compute, threads=1, mem_mb=None):
        seen["cluster"] = compute
        yield None

    class Stop(Exception):
        pass

    def record(name):
        def fake(*args, **kwargs):
            seen[name] = kwargs
            raise Stop
        return fake

    monkeypatch.setattr(stages, "dask_client_from_config", no_cluster)
    monkeypatch.setattr(stages, "sphere_map", record("sphere"))
    monkeypatch.setattr("magcore.wavepacket.wall_response", record("texture"))
    with pytest.raises(Stop):
        stages.run_sphere(cfg, bands, tmp_path / "sphere.zarr")
    assert seen["cluster"] == StudySettings.from_config(cfg).compute
    with pytest.raises(Stop):
        stages.run_texture(cfg, bands, tmp_path / "texture.zarr")
    assert (seen["sphere"]["points_per_chunk"], seen["sphere"]["k_block"]) == (7, 4096)
    assert (seen["texture"]["points_per_chunk"], seen["texture"]["k_block"]) == (3, 4096)


def test_input_files_are_hashed_once_per_stage(tmp_path, monkeypatch):
    files = [tmp_path / "seed_hr.dat", tmp_path / "seed.win"]
    for f in files:
        f.write_text("data\n")
    cfg = {"model": {"source": {"hr_dat": str(files[0])}}, "llg": {}}
    calls = []
    real = fingerprint._sha256
    monkeypatch.setattr(fingerprint, "_sha256", lambda path: calls.append(str(path)) or real(path))
    with fingerprint.hash_files_once():
        first = fingerprint.input_file_hashes(cfg, model_only=True)
        fingerprint.fingerprint(cfg)
        assert fingerprint.input_file_hashes(cfg) == first
    assert sorted(calls) == sorted(map(str, files))
    fingerprint.input_file_hashes(cfg)  # outside a stage every call reads the files
    assert len(calls) == 2 * len(files)
