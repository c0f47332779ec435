"""Configuration: defaults, and one-line errors that name the key and what is allowed."""

import copy

import pytest
import yaml

from magcore.config import ConfigError, load, schema, validate


def test_defaults_fill_an_empty_config():
    cfg = validate({})
    assert cfg["model"]["name"] == "ti_surface"
    assert cfg["mesh"]["k_cutoff"] > 0 and cfg["sphere"]["n_theta"] >= 2
    assert cfg["electrons"]["temperature"] == 0.0


def test_default_study_is_valid_and_complete(repo):
    cfg = load(repo / "config" / "config.yaml")
    assert cfg["study"] == "ti_surface_default"


def _walk(node, path=()):
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, path + (name,))


def test_every_schema_key_has_a_description_and_default():
    for path, node in _walk(schema()):
        if path:
            assert node.get("description"), f"{'.'.join(path)} has no description"
            assert "default" in node, f"{'.'.join(path)} has no default"


BAD = [
    ({"model": {"name": "graphene"}}, ["model.name", "graphene", "ti_surface"]),
    ({"modle": {}}, ["unknown key modle", "model"]),
    ({"mesh": {"kcutoff": 3}}, ["mesh.kcutoff", "k_cutoff"]),
    ({"mesh": {"k_cutoff": -1.0}}, ["mesh.k_cutoff", "must be > 0"]),
    ({"mesh": {"radial_order": 0}}, ["mesh.radial_order", "must be >= 1"]),
    ({"sphere": {"n_theta": 0}}, ["sphere.n_theta", "must be >= 2"]),
    ({"sphere": {"n_phi": -4}}, ["sphere.n_phi", "must be >= 1"]),
    ({"electrons": {"temperature": -0.1}}, ["electrons.temperature", "must be >= 0"]),
    ({"electrons": {"chemical_potential": "zero"}}, ["electrons.chemical_potential", "must be a number"]),
    ({"sphere": {"n_theta": 3.5}}, ["sphere.n_theta", "must be an integer"]),
    ({"model": {"parameters": {"J": "big"}}}, ["model.parameters.J", "must be a number"]),
    ({"model": {"parameters": {"lambda": 1.0}}}, ["model.parameters.lambda", "allowed: v, J"]),
    ({"magnetization": {"magnitude": 0}}, ["magnetization.magnitude", "must be > 0"]),
    ({"study": "a/b"}, ["study", "does not match"]),
    ({"bands": {"reference_directions_deg": [[200, 0]]}}, ["bands.reference_directions_deg.0", "[0, 180]"]),
    ({"model": {"name": "tmd", "material": "MoS3"}}, ["model", "MoS3", "WTe2"]),
    ({"model": {"name": "ti_surface", "material": "WTe2"}}, ["model.material", "only for model tmd"]),
    ({"model": {"name": "tight_binding", "source": {"hr_dat": "/nonexistent/seed_hr.dat",
                                                    "lattice_vectors": [[1, 0], [0, 1]]}}},
     ["model", "/nonexistent/seed_hr.dat"]),
    ({"model": {"name": "tight_binding"}}, ["model.source is required"]),
    ({"electrons": {"chemical_potential": 0.1, "filling": 1}}, ["both"]),
    ({"model": {"name": "qwz"}, "electrons": {"filling": 2}}, ["electrons.filling", "must be < the number of bands"]),
    ({"compute": {"dask_cluster": "scheduler"}}, ["compute.dask_scheduler is required"]),
    ({"compute": {"dask_cluster": "kubernetes"}}, ["compute.dask_cluster", "local, scheduler, slurm"]),
    ({"mesh": {"grading": 1.5}}, ["mesh.grading", "must be < 1"]),
    ({"sphere": []}, ["sphere", "must be a mapping"]),
    ({"llg": {"enabled": True, "model": {"terms": [{"kind": "bogus"}]}}}, ["llg.model", "bogus"]),
    ({"llg": {"enabled": True, "axes": {}}}, ["llg.axes", "non-empty"]),
    ({"llg": {"enabled": True, "axes": {"B": []}}}, ["llg.axes.B", "non-empty"]),
    ({"llg": {"enabled": True, "model": {"gamma": {"sphere": "gyromagnetic_ratio"}}}}, ["llg.use_sphere is false"]),
    ({"llg": {"enabled": True, "use_sphere": True, "sphere_store": "/nonexistent/sphere.zarr"}},
     ["llg.sphere_store", "no zarr store"]),
    # integers given as floats (jsonschema's own "integer" accepts 9.0)
    ({"sphere": {"n_theta": 9.0}}, ["sphere.n_theta = 9.0", "must be an integer"]),
    ({"electrons": {"filling": 2.0}, "model": {"name": "tmd"}}, ["electrons.filling", "must be an integer or null"]),
    # non-finite numbers pass every minimum: refused anywhere, naming the key
    ({"electrons": {"temperature": float("nan")}}, ["electrons.temperature = nan", "finite"]),
    ({"electrons": {"temperature": float("inf")}}, ["electrons.temperature = inf", "finite"]),
    ({"electrons": {"chemical_potential": float("nan")}}, ["electrons.chemical_potential = nan", "finite"]),
    ({"electrons": {"gap_tolerance": float("nan")}}, ["electrons.gap_tolerance = nan", "finite"]),
    ({"magnetization": {"magnitude": float("inf")}}, ["magnetization.magnitude = inf", "finite"]),
    ({"bands": {"reference_directions_deg": [[0, float("nan")]]}}, ["bands.reference_directions_deg.0.1", "finite"]),
    ({"llg": {"t_end": float("inf")}}, ["llg.t_end = inf", "finite"]),
    ({"sphere": {"n_phi": 2**60}}, ["sphere.n_phi", "too large"]),
    # physical bounds (|energy|, |length|, |1/length| <= 1e6 in model units) and the band range
    ({"model": {"parameters": {"J": 1e308}}}, ["model.parameters.J", "must be <= 1e+06"]),
    ({"electrons": {"chemical_potential": 1e6}}, ["electrons.chemical_potential", "outside the bands"]),
    ({"model": {"name": "qwz"}, "electrons": {"chemical_potential": 5.0}},
     ["electrons.chemical_potential = 5", "outside the bands", "electrons.filling"]),
    ({"mesh": {"k_cutoff": 1e9}}, ["mesh.k_cutoff", "must be <= 1e+06"]),
    ({"ferromagnet": {"gamma_f": 1e-300}}, ["ferromagnet.gamma_f", "must be >= 1e-06"]),
    ({"texture": {"fd_step": 0.9}}, ["texture.fd_step", "must be <= 0.25"]),
    ({"figures": {"dpi": 100000}}, ["figures.dpi", "must be <= 1200"]),
    ({"mesh": {"radial_panels": 200}}, ["mesh.radial_panels = 200", "innermost panel"]),
    ({"model": {"name": "tight_binding", "source": {"lattice_vectors": [[1, 0], [0, 1]], "onsite": [1, -1],
                                                    "hoppings": [[1e300, 0, 1, [1, 0]]]}}},
     ["model.source", "amplitude", "exceeds 1e+06"]),
    # sizes: estimated up front against compute.limits, naming the key and the limit
    ({"sphere": {"n_theta": 10000000}}, ["sphere.n_theta = 10000000", "sphere stage", "GB",
                                         "compute.limits.max_memory_gb = 16"]),
    ({"model": {"name": "qwz"}, "mesh": {"n_k": 100000}}, ["mesh.n_k = 100000", "GB", "compute.limits.max_memory_gb"]),
    ({"mesh": {"radial_order": 1000000}}, ["mesh.radial_order = 1000000", "GB"]),
    ({"bands": {"path_points": 1000000000}}, ["bands.path_points = 1000000000", "k path", "GB"]),
    ({"llg": {"enabled": True, "axes": {"theta0": {"start": 0.1, "stop": 0.9, "num": 100000000}}}},
     ["llg.axes.theta0 = 100000000 values", "llg stage", "trajectories", "GB"]),
    ({"model": {"name": "tmd"}, "electrons": {"filling": 2}, "compute": {"k_block": 10**9, "points_per_chunk": 10**6}},
     ["compute.points_per_chunk", "Dask task", "GB"]),
    ({"compute": {"limits": {"max_work": 1.0e6}}}, ["compute.limits.max_work = 1e+06", "bands stage"]),
    ({"model": {"name": "tmd", "material": "WTe2"}, "electrons": {"filling": 2},
      "texture": {"enabled": True, "n_points": 10000000}}, ["texture.n_points = 10000000", "texture stage",
                                                            "compute.limits.max_work"]),
    # paths and names
    ({"study": ".."}, ["study = '..'", "inside results_dir"]),
    ({"study": "."}, ["study = '.'", "inside results_dir"]),
    ({"results_dir": "results\nx"}, ["results_dir", "control character"]),
    ({"compute": {"slurm": {"queue": "short\n#SBATCH --exclusive"}}}, ["compute.slurm.queue", "does not match"]),
    ({"compute": {"slurm": {"walltime": "forever"}}}, ["compute.slurm.walltime", "does not match"]),
    ({"compute": {"dask_cluster": "scheduler", "dask_scheduler": "tcp://h:8786 --x"}},
     ["compute.dask_scheduler", "does not match"]),
    # vectors against the model's dimension and orbital count
    ({"model": {"name": "qwz"}, "electric_field": [1.0, 0.0, 0.0]},
     ["electric_field has 3 entries", "2 k direction"]),
    ({"model": {"name": "qwz"}, "figures": {"electric_field": [1.0, 0.0, 0.0]}},
     ["figures.electric_field has 3 entries", "2 k direction"]),
    ({"electric_field": [1.0, 0.0], "figures": {"electric_field": [2.0, 0.0]}},
     ["figures.electric_field = [2.0, 0.0] and electric_field = [1.0, 0.0] differ", "give electric_field only"]),
    ({"model": {"name": "tight_binding", "source": {"lattice_vectors": [[1, 0], [0, 1]], "onsite": [1, -1, 0],
                                                    "hoppings": [[0.1, 0, 1, [1, 0]]]}}},
     ["model.source.onsite has 3 entries", "orbital(s) 2"]),
    ({"model": {"name": "tight_binding", "source": {"lattice_vectors": [[1, 0], [0, 1]],
                                                    "positions": [[0, 0], [0.5, 0.5]], "onsite": [1, -1, 0],
                                                    "hoppings": [[0.1, 0, 1, [1, 0]]]}}},
     ["model.source", "3 on-site energies for 2 orbitals"]),
    ({"texture": {"walls": ["bloch", "bloch"]}}, ["texture.walls", "non-unique"]),
    # YAML quirks that reach the config as non-strings
    ({True: 1}, ["key True is not a string", "quote the key"]),
    ({"compute": {"limits": {"max_memory_gb": "1e6"}}}, ["compute.limits.max_memory_gb", "write 1.0e+6"]),
]


@pytest.mark.parametrize("bad, words", BAD, ids=[str(b)[:100] for b, _ in BAD])
def test_bad_config_one_line_error_naming_key(bad, words):
    with pytest.raises(ConfigError) as info:
        validate(copy.deepcopy(bad))
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(broken)


def test_validate_does_not_modify_its_input():
    raw = {"mesh": {"k_cutoff": 10.0}}
    before = yaml.safe_dump(raw)
    validate(raw)
    assert yaml.safe_dump(raw) == before


def test_results_dir_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "results"
    target.write_text("not a directory")
    with pytest.raises(ConfigError, match="results_dir.*not a directory"):
        validate({"results_dir": str(target / "sub")})


def test_results_dir_without_write_permission_is_refused(tmp_path, monkeypatch):
    import os

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    with pytest.raises(ConfigError, match="not writable"):
        validate({"results_dir": str(tmp_path / "results")})
    assert not (tmp_path / "results").exists()


def test_unreadable_hr_dat_names_the_file(tmp_path):
    bad = tmp_path / "seed_hr.dat"
    bad.write_text("written by hand\n2\nnot a number\n")
    with pytest.raises(ConfigError, match="seed_hr.dat"):
        validate({"model": {"name": "tight_binding",
                            "source": {"hr_dat": str(bad), "lattice_vectors": [[1, 0], [0, 1]]}}})


def test_llg_sphere_store_from_another_model_is_refused(tmp_path):
    import json

    store = tmp_path / "sphere.zarr"
    store.mkdir()
    (store / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {
        "model": "tmd", "model_parameters": {"J": 0.1}, "model_material": "WTe2"}}))
    with pytest.raises(ConfigError, match="llg.sphere_store.*another model"):
        validate({"llg": {"enabled": True, "use_sphere": True, "sphere_store": str(store)}})


@pytest.mark.parametrize("name", ["config.yaml", "wte2.yaml", "ti_edge_llg.yaml"])
def test_every_shipped_study_config_is_valid(repo, name):
    cfg = load(repo / "config" / name)
    assert cfg["study"]


def test_study_electric_field_default_and_the_figures_spelling():
    assert validate({})["electric_field"] == [1.0]  # a unit field along k_x; missing entries are 0
    moved = validate({"figures": {"electric_field": [2.0, 0.5]}})
    written = validate({"electric_field": [2.0, 0.5]})
    assert moved == written and moved["electric_field"] == [2.0, 0.5] and moved["figures"]["electric_field"] is None
    assert validate(moved) == moved

