"""Parameter sweeps (magcore.sweep): the sweep section's axes, their enumeration, point configs and
keys, and its one-line errors, raised by magcore.config.validate before anything runs."""

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import magcore
from magcore.budget import store_bytes, sweep_store_bytes
from magcore.config import ConfigError, load, validate
from magcore.sweep import Axis, Point, Sweep, point_config, point_id, sweep_from_config

ROOT = Path(magcore.__file__).resolve().parents[1]

TMD_SWEEP = {
    "study": "tmd_sweep",
    "model": {"name": "tmd"},
    "mesh": {"n_k": 12},
    "sphere": {"n_theta": 5, "n_phi": 4},
    "sweep": {
        "axes": {
            "J": {"values": [0.1, 0.2]},
            "chemical_potential": {"start": -0.5, "stop": 1.5, "num": 5},
            "material": {"values": ["MoS2", "WSe2", "WTe2"]},
            "magnitude": {"values": [1, 2]},
            "temperature": {"log": {"start": 1.0e-3, "stop": 1.0e-1, "num": 3}},
        },
        "zip": [["J", "magnitude"]],
    },
}


@pytest.fixture(scope="module")
def tmd():
    cfg = validate(copy.deepcopy(TMD_SWEEP))
    return cfg, sweep_from_config(cfg)


def _with_axes(axes: dict, zips=None, **sections) -> dict:
    cfg = {**copy.deepcopy(sections), "sweep": {"axes": copy.deepcopy(axes)}}
    if zips is not None:
        cfg["sweep"]["zip"] = zips
    return cfg


# ----------------------------------------------------------------------------- enumeration


def test_no_sweep_section_or_no_axes_is_no_sweep():
    assert validate({})["sweep"] is None
    assert sweep_from_config(validate({})) is None
    assert sweep_from_config(validate({"sweep": {}})) is None
    assert sweep_from_config(validate({"sweep": {"axes": {}}})) is None


def test_axes_paths_cheapness_units_and_dims(tmd):
    cfg, sweep = tmd
    axes = {a.name: a for a in sweep.axes}
    assert [a.name for a in sweep.axes] == ["J", "chemical_potential", "material", "magnitude", "temperature"]
    assert axes["J"].path == ("model", "parameters", "J") and not axes["J"].cheap and axes["J"].units == "eV"
    assert axes["chemical_potential"].path == ("electrons", "chemical_potential") and axes["chemical_potential"].cheap
    assert axes["chemical_potential"].units == "eV" and axes["temperature"].units == "eV"
    assert axes["material"].path == ("model", "material") and axes["material"].units == "1"
    assert axes["magnitude"].path == ("magnetization", "magnitude") and not axes["magnitude"].cheap
    assert all(a.long_name for a in sweep.axes)
    # one dimension per group, named after its first axis; expensive dims first, in the order given
    assert sweep.groups == (("J", "magnitude"), ("chemical_potential",), ("material",), ("temperature",))
    assert sweep.dims() == ("J", "material", "chemical_potential", "temperature")
    assert sweep.shape() == (2, 3, 5, 3)
    assert sweep.n_points() == 90 and sweep.n_jobs() == 6
    assert sweep.dim_of("magnitude") == "J"


def test_values_linspace_geomspace_and_floats(tmd):
    _, sweep = tmd
    assert sweep.axis("chemical_potential").values == tuple(np.linspace(-0.5, 1.5, 5).tolist())
    assert sweep.axis("temperature").values == tuple(np.geomspace(1e-3, 1e-1, 3).tolist())
    assert sweep.axis("magnitude").values == (1.0, 2.0)  # a number key: floats
    assert all(type(v) is float for a in ("J", "magnitude", "chemical_potential") for v in sweep.axis(a).values)
    assert sweep.axis("material").values == ("MoS2", "WSe2", "WTe2")
    single = sweep_from_config(validate(_with_axes({"J": {"start": 0.5, "stop": 0.5, "num": 1}})))
    assert single.axis("J").values == (0.5,)


def test_integer_key_ranges_give_integers():
    cfg = validate(_with_axes({"n_k": {"start": 8, "stop": 16, "num": 3}}, model={"name": "qwz"}))
    values = sweep_from_config(cfg).axis("n_k").values
    assert values == (8, 12, 16) and all(type(v) is int for v in values)
    cfg = validate(_with_axes({"n_k": {"log": {"start": 4, "stop": 16, "num": 3}}}, model={"name": "qwz"}))
    assert sweep_from_config(cfg).axis("n_k").values == (4, 8, 16)


def test_expensive_points_in_c_order_with_zipped_axes(tmd):
    cfg, sweep = tmd
    points = sweep.expensive_points(cfg)
    assert [p.index for p in points] == [(i, j) for i in range(2) for j in range(3)]
    J, mag, mat = ("model", "parameters", "J"), ("magnetization", "magnitude"), ("model", "material")
    assert [(p.overrides[J], p.overrides[mag], p.overrides[mat]) for p in points] == [
        (j, m, mat) for j, m in [(0.1, 1.0), (0.2, 2.0)] for mat in ("MoS2", "WSe2", "WTe2")]
    assert all(set(p.overrides) == {J, mag, mat} for p in points)  # expensive axes only
    assert len({p.id for p in points}) == len(points)
    assert all(isinstance(p, Point) and len(p.id) == 16 and int(p.id, 16) >= 0 for p in points)
    assert len({hash(p) for p in points}) == len(points)  # hashable (overrides are not hashed)


def test_cheap_points_in_c_order(tmd):
    cfg, sweep = tmd
    points = sweep.cheap_points(cfg)
    mu, T = ("electrons", "chemical_potential"), ("electrons", "temperature")
    assert [p.index for p in points] == [(i, j) for i in range(5) for j in range(3)]
    assert [(p.overrides[mu], p.overrides[T]) for p in points] == [
        (m, t) for m in sweep.axis("chemical_potential").values for t in sweep.axis("temperature").values]
    assert all(set(p.overrides) == {mu, T} for p in points)


def test_coords_for_every_axis(tmd):
    _, sweep = tmd
    coords = sweep.coords()
    assert set(coords) == {"J", "chemical_potential", "material", "magnitude", "temperature"}
    assert coords["magnitude"][0] == ("J",)  # a non-dimension coordinate along its zip group
    assert coords["J"] == (("J",), (0.1, 0.2), {"units": "eV", "long_name": sweep.axis("J").long_name})
    assert coords["chemical_potential"][2]["units"] == "eV"
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset(coords={k: (d, list(v), attrs) for k, (d, v, attrs) in coords.items()})
    assert dict(ds.sizes) == dict(zip(sweep.dims(), sweep.shape()))


def test_zip_group_named_after_its_first_axis_at_its_place():
    cfg = validate(_with_axes({"J": {"values": [0.5, 1.0]}, "chemical_potential": {"values": [0.0, 0.1, 0.2]},
                               "v": {"values": [1.0, 2.0]}, "magnitude": {"values": [1.0, 1.5]}},
                              zips=[["magnitude", "v"]]))
    sweep = sweep_from_config(cfg)
    # the group stands where magnitude stands among the axes, though v comes first
    assert sweep.groups == (("J",), ("chemical_potential",), ("magnitude", "v"))
    assert sweep.dims() == ("J", "magnitude", "chemical_potential")
    assert sweep.shape() == (2, 2, 3)
    assert sweep.coords()["v"][0] == ("magnitude",)
    assert [(p.overrides[("magnetization", "magnitude")], p.overrides[("model", "parameters", "v")])
            for p in sweep.expensive_points(cfg)] == [(1.0, 1.0), (1.5, 2.0)] * 2


# ----------------------------------------------------------------------------- point configs and keys


def test_point_config_is_the_hand_written_single_point_study(tmd):
    cfg, sweep = tmd
    point = sweep.expensive_points(cfg)[4]  # J = 0.2, magnitude = 2, WSe2
    cheap = sweep.cheap_points(cfg)[7]  # mu = 0.5, T = 1e-2
    got = point_config(cfg, {**point.overrides, **cheap.overrides})
    written = copy.deepcopy(TMD_SWEEP)
    del written["sweep"]
    written["model"] = {"name": "tmd", "material": "WSe2", "parameters": {"J": 0.2}}
    written["magnetization"] = {"magnitude": 2.0}
    written["electrons"] = {"chemical_potential": 0.5, "temperature": 0.01}
    assert got == validate(written)
    assert got["sweep"] is None and sweep_from_config(got) is None
    assert point_id(got) == point_id(validate(written))
    assert cfg["model"]["parameters"] == {} and cfg["sweep"] is not None  # the base is unchanged


def test_point_ids_are_the_keys_of_their_point_configs(tmd):
    cfg, sweep = tmd
    for p in sweep.expensive_points(cfg)[:3]:
        assert p.id == point_id(point_config(cfg, p.overrides))
    c = sweep.cheap_points(cfg)[4]
    assert c.id == point_id(point_config(cfg, c.overrides))


def test_point_id_ignores_study_results_dir_and_sweep(tmd, tmp_path):
    cfg, sweep = tmd
    p = sweep.expensive_points(cfg)[0]
    renamed = point_config({**cfg, "study": "other", "results_dir": str(tmp_path)}, p.overrides)
    assert point_id(renamed) == p.id
    assert point_id({**renamed, "mesh": {**renamed["mesh"], "n_k": 13}}) != p.id


def test_same_point_same_id_in_sweeps_that_differ_elsewhere():
    a = validate(_with_axes({"J": {"values": [0.5, 1.0]}, "chemical_potential": {"values": [0.0, 0.1]}}))
    b = validate(_with_axes({"J": {"values": [1.0, 2.0, 3.0]}, "chemical_potential": {"values": [0.2]},
                             "v": {"values": [1.0]}}))
    ids_a = {p.overrides[("model", "parameters", "J")]: p.id for p in sweep_from_config(a).expensive_points(a)}
    ids_b = {p.overrides[("model", "parameters", "J")]: p.id for p in sweep_from_config(b).expensive_points(b)}
    assert ids_a[1.0] != ids_b[1.0]  # b also sets v = 1.0 (its default, but written): another config
    c = validate(_with_axes({"J": {"values": [1.0, 2.0, 3.0]}, "chemical_potential": {"values": [0.2, 0.3]}}))
    ids_c = {p.overrides[("model", "parameters", "J")]: p.id for p in sweep_from_config(c).expensive_points(c)}
    assert ids_a[1.0] == ids_c[1.0]
    single = validate({"model": {"parameters": {"J": 1.0}}})  # the same point as a single-point study
    assert point_id(single) == ids_a[1.0]


def test_point_ids_stable_across_processes(tmd):
    cfg, sweep = tmd
    ids = [p.id for p in sweep.expensive_points(cfg)] + [p.id for p in sweep.cheap_points(cfg)]
    code = ("import json, sys; from magcore.config import validate; from magcore.sweep import sweep_from_config; "
            "cfg = validate(json.loads(sys.argv[1])); s = sweep_from_config(cfg); "
            "print(json.dumps([p.id for p in s.expensive_points(cfg)] + [p.id for p in s.cheap_points(cfg)]))")
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, json.dumps(TMD_SWEEP)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout) == ids


def test_point_config_error_names_the_axis_and_value(tmd):
    cfg, _ = tmd
    with pytest.raises(ConfigError) as info:
        point_config(cfg, {("model", "parameters", "J"): "big", ("electrons", "chemical_potential"): 0.5})
    message = str(info.value)
    assert message.startswith("config error: sweep.axes.J = 'big', sweep.axes.chemical_potential = 0.5: ")
    assert "model.parameters.J = 'big': must be a number" in message and "\n" not in message


def test_points_need_the_resolved_config(tmd):
    _, sweep = tmd
    with pytest.raises(ValueError, match="resolved config"):
        sweep.expensive_points(copy.deepcopy(TMD_SWEEP))


def test_sweep_from_config_resolves_a_raw_config():
    raw = _with_axes({"J": {"values": [0.5, 1.0]}})
    assert sweep_from_config(raw) == sweep_from_config(validate(raw))


def test_objects_are_frozen(tmd):
    _, sweep = tmd
    import dataclasses

    for obj in (sweep, sweep.axes[0]):
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.name = "x"  # type: ignore[misc]
    assert isinstance(sweep, Sweep) and isinstance(sweep.axes[0], Axis)


# ----------------------------------------------------------------------------- other keys


def test_known_short_names_and_explicit_paths():
    cfg = validate(_with_axes({"relaxation_time": {"values": [0.5, 1.0]}, "smearing": {"values": [0.0, 0.01]},
                               "wall_width": {"values": [50.0, 100.0]}, "wall_profile": {"values": ["atan", "tanh"]},
                               "n_k": {"values": [8, 12]}, "strength": {"path": "model.parameters.J",
                                                                     "values": [0.05, 0.1]}},
                              model={"name": "tmd"}, texture={"enabled": True}))
    sweep = sweep_from_config(cfg)
    axes = {a.name: a for a in sweep.axes}
    assert axes["relaxation_time"].units == "hbar/eV" and axes["relaxation_time"].cheap
    assert axes["wall_width"].path == ("texture", "width") and axes["wall_width"].units == "Angstrom"
    assert axes["wall_profile"].values == ("atan", "tanh") and not axes["wall_profile"].cheap
    assert axes["n_k"].path == ("mesh", "n_k") and axes["strength"].path == ("model", "parameters", "J")
    assert sweep.dims() == ("wall_width", "wall_profile", "n_k", "strength", "relaxation_time", "smearing")
    cont = validate(_with_axes({"k_cutoff": {"values": [100.0, 200.0]}, "filling": {"values": [1]}},
                               model={"name": "ti_surface"}))
    axes = {a.name: a for a in sweep_from_config(cont).axes}
    assert axes["k_cutoff"].units == "1/a" and not axes["filling"].cheap


# ----------------------------------------------------------------------------- errors


BAD_SWEEPS = [
    # names and paths
    (_with_axes({"foo": {"values": [1.0]}}), ["sweep.axes.foo", "unknown axis name", "v, J"]),
    (_with_axes({"lambda": {"values": [0.1]}}), ["sweep.axes.lambda", "unknown axis name", "model 'ti_surface' (v, J)"]),
    (_with_axes({"lam": {"path": "model.parameters.lambda", "values": [0.1]}}),
     ["sweep.axes.lam.path = 'model.parameters.lambda'", "not a parameter of model 'ti_surface'", "allowed: v, J"]),
    (_with_axes({"n": {"path": "sphere.n_theta", "values": [5]}}), ["sweep.axes.n.path = 'sphere.n_theta'",
                                                                    "cannot be swept", "sweepable:"]),
    (_with_axes({"name": {"path": "study", "values": ["a", "b"]}}), ["sweep.axes.name.path = 'study'",
                                                                     "cannot change study"]),
    (_with_axes({"where": {"path": "results_dir", "values": ["a"]}}), ["sweep.axes.where.path", "results_dir"]),
    (_with_axes({"theta": {"path": "model.parameters.J", "values": [0.5]}}), ["sweep.axes.theta", "dimension"]),
    (_with_axes({"material": {"values": ["MoS2"]}}), ["sweep.axes.material", "only for model tmd"]),
    (_with_axes({"wall_width": {"values": [50.0]}}), ["sweep.axes.wall_width", "texture.enabled: false"]),
    (_with_axes({"wall_kind": {"values": ["bloch", "neel"]}}), ["sweep.axes.wall_kind", "texture.walls",
                                                                  "wall dimension"]),
    (_with_axes({"n_k": {"values": [8, 16]}}), ["sweep.axes.n_k", "not used by model 'ti_surface'", "mesh.k_cutoff"]),
    (_with_axes({"mu": {"path": "electrons.chemical_potential", "values": [0.1]},
                 "chemical_potential": {"values": [0.2]}}), ["sweep.axes.chemical_potential", "like sweep.axes.mu"]),
    (_with_axes({"1x": {"values": [1.0]}}), ["sweep.axes", "'1x'", "does not match"]),
    # value specs
    (_with_axes({"J": {"values": []}}), ["sweep.axes.J.values", "non-empty"]),
    (_with_axes({"J": {"start": 0.1, "stop": 1.0, "num": 0}}), ["sweep.axes.J.num = 0", "must be >= 1"]),
    (_with_axes({"J": {"log": {"start": 0.1, "stop": 1.0, "num": -2}}}), ["sweep.axes.J.log.num = -2", ">= 1"]),
    (_with_axes({"J": {"path": "model.parameters.J"}}), ["sweep.axes.J", "give one of values"]),
    (_with_axes({"J": {"start": 0.1, "stop": 1.0}}), ["sweep.axes.J", "num missing"]),
    (_with_axes({"J": {"values": [1.0], "start": 0.0, "stop": 1.0, "num": 2}}), ["sweep.axes.J", "give one of",
                                                                                  "got values and"]),
    (_with_axes({"J": {"log": {"start": 0.0, "stop": 1.0, "num": 3}}}), ["sweep.axes.J.log", "non-zero"]),
    (_with_axes({"J": {"valus": [1.0]}}), ["unknown key sweep.axes.J.valus", "values"]),
    (_with_axes({"J": {"start": "a", "stop": 1.0, "num": 2}}), ["sweep.axes.J.start = 'a'", "must be a number"]),
    (_with_axes({"J": {"values": [0.5, True]}}), ["sweep.axes.J.values.1 = True", "must be a number or a string"]),
    (_with_axes({"J": {"values": [0.5, 0.5]}}), ["sweep.axes.J", "given twice"]),
    (_with_axes({"J": {"values": [0.5, float("nan")]}}), ["sweep.axes.J.values.1 = nan", "finite"]),
    (_with_axes({"J": {"start": float("inf"), "stop": 1.0, "num": 2}}), ["sweep.axes.J.start = inf", "finite"]),
    (_with_axes({"J": {"start": -1.7e308, "stop": 1.7e308, "num": 3}}), ["sweep.axes.J", "not finite"]),
    (_with_axes({"n_k": {"start": 8, "stop": 13, "num": 3}}, model={"name": "qwz"}),
     ["sweep.axes.n_k", "takes integers", "10.5"]),
    # every value a valid single-point study
    (_with_axes({"J": {"values": [0.5, "big"]}}), ["sweep.axes.J = 'big'", "model.parameters.J", "must be a number"]),
    (_with_axes({"J": {"values": [0.5, 2.0e+6]}}), ["sweep.axes.J = 2000000.0", "must be <= 1e+06"]),
    (_with_axes({"temperature": {"values": [0.0, -0.1, 0.1]}}), ["sweep.axes.temperature = -0.1", "must be >= 0"]),
    (_with_axes({"chemical_potential": {"values": [0.0, 1000.0]}}),
     ["sweep.axes.chemical_potential = 1000.0", "outside the bands"]),
    (_with_axes({"chemical_potential": {"values": [0.0, "1e-3"]}}),
     ["sweep.axes.chemical_potential = '1e-3'", "write 1.0e+6"]),
    (_with_axes({"n_k": {"values": [8, 12.5]}}, model={"name": "qwz"}), ["sweep.axes.n_k = 12.5", "must be an integer"]),
    (_with_axes({"material": {"values": ["MoS2", "MoS3"]}}, model={"name": "tmd"}),
     ["sweep.axes.material = 'MoS3'", "unknown material"]),
    (_with_axes({"filling": {"values": [1, 2]}}, model={"name": "qwz"}),
     ["sweep.axes.filling = 2", "must be < the number of bands"]),
    (_with_axes({"magnitude": {"values": [1.0, 0.0]}}), ["sweep.axes.magnitude = 0.0", "must be > 0"]),
    # the electron state: mu or filling
    (_with_axes({"chemical_potential": {"values": [0.1]}}, model={"name": "qwz"}, electrons={"filling": 1}),
     ["sweep.axes.chemical_potential", "electrons.filling = 1", "remove electrons.filling"]),
    (_with_axes({"filling": {"values": [1]}}, model={"name": "qwz"}, electrons={"chemical_potential": 0.1}),
     ["sweep.axes.filling", "set it to null"]),
    (_with_axes({"filling": {"values": [1]}, "chemical_potential": {"values": [0.1]}}, model={"name": "qwz"}),
     ["sweep.axes.chemical_potential and sweep.axes.filling", "one or the other"]),
    # zip groups
    (_with_axes({"J": {"values": [0.5, 1.0]}}, zips=[["J", "v"]]), ["sweep.zip.0", "unknown axis 'v'"]),
    (_with_axes({"J": {"values": [0.5, 1.0]}, "v": {"values": [1.0, 2.0]}, "magnitude": {"values": [1.0, 2.0]}},
                zips=[["J", "v"], ["v", "magnitude"]]), ["sweep.zip.1", "'v' is already in sweep.zip.0"]),
    (_with_axes({"J": {"values": [0.5, 1.0]}}, zips=[["J", "J"]]), ["sweep.zip.0", "'J' is twice in it"]),
    (_with_axes({"J": {"values": [0.5, 1.0]}, "v": {"values": [1.0, 2.0, 3.0]}}, zips=[["J", "v"]]),
     ["sweep.zip.0", "different lengths (J 2, v 3)"]),
    (_with_axes({"J": {"values": [0.5, 1.0]}, "chemical_potential": {"values": [0.0, 0.1]}},
                zips=[["J", "chemical_potential"]]), ["sweep.zip.0", "mixes electron-state axes (chemical_potential)"]),
    (_with_axes({"J": {"values": [0.5, 0.5]}, "v": {"values": [1.0, 1.0]}}, zips=[["J", "v"]]),
     ["sweep.axes.J/v", "0.5, 1.0", "given twice"]),
    ({"sweep": {"zip": [["J"]]}}, ["sweep.zip names axes", "sweep.axes is empty"]),
    ({"sweep": {"axis": {}}}, ["unknown key sweep.axis", "axes, convergence_tolerance, fermi_scan, zip"]),
    # sizes
    ({**_with_axes({"J": {"start": 0.1, "stop": 1.0, "num": 4}, "chemical_potential": {"start": -1.0, "stop": 1.0,
                                                                                        "num": 5}}),
      "compute": {"limits": {"max_sweep_points": 10}}},
     ["sweep: J 4 x chemical_potential 5 = 20 points", "compute.limits.max_sweep_points = 10"]),
    (_with_axes({"chemical_potential": {"start": -1.0, "stop": 1.0, "num": 10**12}}),
     ["sweep: chemical_potential 1000000000000 points", "compute.limits.max_sweep_points = 10000"]),
    ({**_with_axes({"J": {"start": 0.1, "stop": 1.0, "num": 4}, "v": {"values": [1.0, 2.0]}}),
      "compute": {"limits": {"max_sweep_jobs": 5}}},
     ["J 4 x v 2", "8 jobs", "compute.limits.max_sweep_jobs = 5"]),
    ({**_with_axes({"J": {"values": [0.5, 1.0]}, "chemical_potential": {"values": [0.0, 0.1, 0.2]}}),
      "compute": {"limits": {"max_sweep_store_gb": 0.001}}},
     ["combined stores of 6 points (2 jobs x 3 electron states)", "GB (bands", "sphere",
      "compute.limits.max_sweep_store_gb = 0.001"]),
]


@pytest.mark.parametrize("bad, words", BAD_SWEEPS, ids=[json.dumps(b)[:90] for b, _ in BAD_SWEEPS])
def test_bad_sweep_one_line_error_naming_the_key(bad, words):
    with pytest.raises(ConfigError) as info:
        validate(copy.deepcopy(bad))
    message = str(info.value)
    assert "\n" not in message and message.startswith("config error: "), message
    assert "sweep" in message
    for word in words:
        assert word in message, (word, message)


def test_a_huge_axis_is_refused_before_its_values_are_made():
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="max_sweep_points"):
        validate(_with_axes({"chemical_potential": {"start": -1.0, "stop": 1.0, "num": 10**15}}))
    assert time.perf_counter() - started < 5


def test_the_first_bad_value_of_a_long_axis_is_named():
    """Values are validated as points of the sweep, the k-th row of every group together; a
    refused point is narrowed down to the axis value that is refused alone."""
    bad = _with_axes({"J": {"values": [0.5, 1.0, 1.5, -2.0e6, 3.0e6]}, "v": {"values": [1.0, 2.0]},
                      "temperature": {"values": [0.0, 0.01]}})
    with pytest.raises(ConfigError) as info:
        validate(bad)
    assert str(info.value).startswith("config error: sweep.axes.J = -2000000.0: model.parameters.J = -2000000.0")


@pytest.mark.parametrize("mu, temperature", [
    ([-1.0, 0.0, 1.0], [0.0]),
    ([-1.0, 0.0, 9.0, 1.0], [0.0]),  # above the bands, not last
    ([0.5, -9.0, 1.0], [0.0]),  # below the bands, not first
    ([0.0, 0.5], [0.0, -0.5, 0.1]),
    ([0.0, "0.5", 1.0], [0.0]),
    ([0.0, 0.5], [0.0, 2.0e6]),
])
def test_electron_state_shortcut_refuses_what_a_value_alone_refuses(mu, temperature):
    """The electron-state axes are validated in full at a few rows only (see
    magcore.sweep_spec.check): they refuse a sweep exactly when some value alone is refused."""
    base = {"model": {"name": "qwz"}}
    alone_refused = []
    for path, values in ((("electrons", "chemical_potential"), mu), (("electrons", "temperature"), temperature)):
        for v in values:
            try:
                point_config(validate(base), {path: v})
            except ConfigError:
                alone_refused.append(v)
    cfg = _with_axes({"chemical_potential": {"values": mu}, "temperature": {"values": temperature}}, **base)
    try:
        validate(cfg)
        refused = False
    except ConfigError as exc:
        refused = True
        assert f"= {alone_refused[0]!r}" in str(exc)
    assert refused == bool(alone_refused)


def test_a_duplicate_axis_in_a_study_file_is_refused(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("sweep:\n  axes:\n    J: {values: [0.5, 1.0]}\n    J: {values: [2.0]}\n")
    with pytest.raises(ConfigError, match=r"line 4.*duplicate key 'sweep.axes.J'"):
        load(study)


# ----------------------------------------------------------------------------- sizes


def test_store_estimate_of_a_sweep_is_the_sum_of_its_points():
    from magcore.models import get_model

    cfg = validate({"model": {"name": "tmd"}, "texture": {"enabled": True}})
    model = get_model("tmd")
    one = store_bytes(cfg, model)
    assert set(one) == {"bands", "sphere", "texture"}
    total = sweep_store_bytes([cfg, cfg], 3, model)
    assert total == {stage: 2 * (fixed + 3 * per_state) for stage, (fixed, per_state) in one.items()}
    assert one["bands"][0] > 0 and one["sphere"][0] == 0  # band energies once per expensive point


# ----------------------------------------------------------------------------- imports


NO_NUMBA_SWEEPS = [
    _with_axes({"J": {"values": [0.5, 1.0]}, "chemical_potential": {"start": -1.0, "stop": 1.0, "num": 5},
                "temperature": {"values": [0.0, 0.01]}}),
    # tmd with a filling (its chemical potential check evaluates H with the compiled kernels)
    _with_axes({"material": {"values": ["MoS2", "WTe2"]}, "J": {"values": [0.1, 0.2]},
                "temperature": {"values": [0.0, 0.01]}}, model={"name": "tmd"}, electrons={"filling": 2}),
]


@pytest.mark.parametrize("cfg", NO_NUMBA_SWEEPS, ids=["ti_surface", "tmd"])
def test_validating_a_sweep_imports_no_numba(tmp_path, cfg):
    study = tmp_path / "sweep.yaml"
    study.write_text(json.dumps(cfg))
    code = ("import sys; import magcore.config as c; from magcore.sweep import sweep_from_config; "
            "cfg = c.load(sys.argv[1]); s = sweep_from_config(cfg); s.expensive_points(cfg); s.cheap_points(cfg); "
            "assert 'numba' not in sys.modules, sorted(m for m in sys.modules if m.startswith(('numba', 'magcore')))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code, str(study)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
