"""The ``sweep`` section of a study: its axes, its points and their keys, and its checks.

This is the layer below :mod:`magcore.sweep` (the public face, which re-exports it):
:func:`magcore.config.validate` calls :func:`check` here, so this module does not import
:mod:`magcore.config`; the validation of a single-point study and the error class come in as
arguments of :func:`check`.

A sweep is the product of named axes over config keys (model parameters, the tmd material, the
magnetization magnitude, the electron state, texture and mesh keys); zipped axes move together
as one dimension.  Electron-state axes (``electrons.chemical_potential``, ``temperature``,
``relaxation_time``, ``smearing``) are *cheap*: evaluated inside one job per point of the
other, *expensive*, axes.  Each point is a single-point study of its own: the study's resolved
config with the sweep section removed and the point's values put in.  Its key
(:func:`point_id`) is the SHA-256 of the canonical JSON of that config without ``study``,
``results_dir`` and ``sweep``: the same base and the same values give the same key in any
sweep, any process and any run.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import yaml

# short axis names -> the key they sweep (a parameter name of the study's model is one too)
KNOWN_PATHS: dict[str, tuple[str, ...]] = {
    "chemical_potential": ("electrons", "chemical_potential"),
    "temperature": ("electrons", "temperature"),
    "relaxation_time": ("electrons", "relaxation_time"),
    "smearing": ("electrons", "smearing"),
    "filling": ("electrons", "filling"),
    "material": ("model", "material"),
    "magnitude": ("magnetization", "magnitude"),
    "wall_width": ("texture", "width"),
    "wall_profile": ("texture", "profile"),
    "wall_kind": ("texture", "walls"),
    "n_k": ("mesh", "n_k"),
    "k_cutoff": ("mesh", "k_cutoff"),
    "radial_panels": ("mesh", "radial_panels"),
    "radial_order": ("mesh", "radial_order"),
    "grading": ("mesh", "grading"),
    "n_angle": ("mesh", "n_angle"),
}

# electron-state keys: every value is evaluated inside one job (one eigendecomposition per (k, m))
CHEAP_KEYS = ("chemical_potential", "temperature", "relaxation_time", "smearing")
ELECTRON_KEYS = CHEAP_KEYS + ("filling",)
TEXTURE_KEYS = ("width", "profile", "extent", "n_points", "fd_step")
LATTICE_MESH_KEYS = ("n_k",)
CONTINUUM_MESH_KEYS = ("k_cutoff", "radial_panels", "radial_order", "grading", "n_angle")
NOT_SWEPT = ("study", "results_dir", "sweep")  # one sweep is one study folder

SWEEPABLE = ("model.parameters.<name>, model.material, magnetization.magnitude, electrons."
             f"({'|'.join(ELECTRON_KEYS)}), texture.({'|'.join(TEXTURE_KEYS)}), "
             f"mesh.({'|'.join(LATTICE_MESH_KEYS + CONTINUUM_MESH_KEYS)})")

# dimension and coordinate names the single-point stores already have: an axis may not take one
RESERVED_NAMES = frozenset({
    "theta", "phi", "component", "component2", "field", "field2", "direction", "direction_theta",
    "direction_phi", "path", "path_tick", "path_label", "band", "gradient", "k_dim", "k_dim2",
    "k_point", "y", "wall",
})

# (units, long_name) of the axes over keys other than model parameters; E and L stand for the
# model's energy and length units
_DESCRIPTIONS: dict[tuple[str, ...], tuple[str, str]] = {
    ("model", "material"): ("1", "material (parameters of Liu et al. 2013)"),
    ("magnetization", "magnitude"): ("1", "magnetization magnitude |m|"),
    ("electrons", "chemical_potential"): ("E", "chemical potential mu"),
    ("electrons", "temperature"): ("E", "temperature T (k_B = 1)"),
    ("electrons", "relaxation_time"): ("hbar/E", "relaxation time tau"),
    ("electrons", "smearing"): ("E", "Fermi-surface smearing"),
    ("electrons", "filling"): ("1", "number of filled bands"),
    ("texture", "width"): ("L", "domain-wall width w0"),
    ("texture", "profile"): ("1", "domain-wall profile theta(y)"),
    ("texture", "extent"): ("L", "half-extent of the wall positions"),
    ("texture", "n_points"): ("1", "number of wall positions"),
    ("texture", "fd_step"): ("1", "finite-difference step of the m-derivatives (in |m|)"),
    ("mesh", "n_k"): ("1", "Monkhorst-Pack points per reciprocal-lattice direction"),
    ("mesh", "k_cutoff"): ("1/L", "momentum cutoff k_c"),
    ("mesh", "radial_panels"): ("1", "graded radial panels of the k-mesh"),
    ("mesh", "radial_order"): ("1", "Gauss-Legendre points per radial panel"),
    ("mesh", "grading"): ("1", "ratio of successive radial panel edges"),
    ("mesh", "n_angle"): ("1", "angular points of the k-mesh"),
}


class SweepSpecError(ValueError):
    """A sweep section that cannot be run; the message is the one-line config error."""


# ----------------------------------------------------------------------------- the objects


@dataclass(frozen=True)
class Axis:
    """One axis: the config key it sets (``path``), its values in order, whether it is an
    electron-state (cheap) axis, and the units and long name of its coordinate."""

    name: str
    path: tuple[str, ...]
    values: tuple
    cheap: bool
    units: str
    long_name: str


@dataclass(frozen=True)
class Point:
    """A point of a sweep: its position along the dimensions it spans (the expensive or the
    cheap ones), the values it sets ({path: value}) and its key (:func:`point_id` of its
    config)."""

    index: tuple[int, ...]
    overrides: dict = field(hash=False)
    id: str


@dataclass(frozen=True)
class Sweep:
    """The axes of a sweep and its groups (zipped axes; an ungrouped axis is a group of one).
    Each group is one dimension, named after its first axis; the sweep is the product of the
    groups in the order of ``groups`` (the order of the axes)."""

    axes: tuple[Axis, ...]
    groups: tuple[tuple[str, ...], ...]

    def axis(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise KeyError(f"no sweep axis {name!r}; axes: {', '.join(a.name for a in self.axes)}")

    def dim_of(self, name: str) -> str:
        """The dimension an axis lies along (the first axis of its group)."""
        for group in self.groups:
            if name in group:
                return group[0]
        raise KeyError(f"no sweep axis {name!r}")

    def _is_cheap(self, group: tuple[str, ...]) -> bool:
        return self.axis(group[0]).cheap

    def _length(self, group: tuple[str, ...]) -> int:
        return len(self.axis(group[0]).values)

    def expensive_groups(self) -> tuple[tuple[str, ...], ...]:
        return tuple(g for g in self.groups if not self._is_cheap(g))

    def cheap_groups(self) -> tuple[tuple[str, ...], ...]:
        return tuple(g for g in self.groups if self._is_cheap(g))

    def expensive_dims(self) -> tuple[str, ...]:
        return tuple(g[0] for g in self.expensive_groups())

    def cheap_dims(self) -> tuple[str, ...]:
        return tuple(g[0] for g in self.cheap_groups())

    def dims(self) -> tuple[str, ...]:
        """Dimension names: the expensive ones first (in the order given), then the cheap ones."""
        return self.expensive_dims() + self.cheap_dims()

    def shape(self) -> tuple[int, ...]:
        """Lengths along :meth:`dims`."""
        return tuple(self._length(g) for g in self.expensive_groups() + self.cheap_groups())

    def n_points(self) -> int:
        return math.prod(self.shape())

    def n_jobs(self) -> int:
        """Number of expensive points (one job each)."""
        return math.prod(self._length(g) for g in self.expensive_groups())

    def _points(self, groups: tuple[tuple[str, ...], ...], base_cfg: Mapping[str, Any]) -> list[Point]:
        if not is_resolved(base_cfg):
            raise ValueError("the points of a sweep are made from the resolved config "
                             "(magcore.config.validate); this one has keys missing")
        out = []
        for index in itertools.product(*(range(self._length(g)) for g in groups)):
            overrides = {}
            for group, i in zip(groups, index):
                for name in group:
                    a = self.axis(name)
                    overrides[a.path] = a.values[i]
            out.append(Point(index=tuple(index), overrides=overrides,
                             id=point_id(apply_overrides(base_cfg, overrides))))
        return out

    def expensive_points(self, base_cfg: Mapping[str, Any]) -> list[Point]:
        """The points of the expensive axes (their values only), in C order over
        :meth:`expensive_dims`; ``base_cfg`` is the study's resolved config."""
        return self._points(self.expensive_groups(), base_cfg)

    def cheap_points(self, base_cfg: Mapping[str, Any]) -> list[Point]:
        """The points of the electron-state axes (their values only), in C order over
        :meth:`cheap_dims`; ``base_cfg`` is the study's resolved config."""
        return self._points(self.cheap_groups(), base_cfg)

    def coords(self) -> dict[str, tuple[tuple[str], tuple, dict[str, str]]]:
        """xarray-style coordinates of every axis: name -> ((dim,), values, {units, long_name})."""
        return {a.name: ((self.dim_of(a.name),), a.values, {"units": a.units, "long_name": a.long_name})
                for a in self.axes}


# ----------------------------------------------------------------------------- configs and keys


def is_resolved(cfg: Any) -> bool:
    """Whether ``cfg`` looks like a config resolved by magcore.config.validate (every section
    present, defaults filled)."""
    try:
        return (all(k in cfg for k in ("study", "results_dir", "model", "electrons", "mesh", "texture",
                                       "magnetization", "compute", "sweep"))
                and "limits" in cfg["compute"] and "parameters" in cfg["model"])
    except TypeError:
        return False


def apply_overrides(base_cfg: Mapping[str, Any], overrides: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """``base_cfg`` without its sweep section and with ``overrides`` ({path: value}) put in,
    not validated.  Only the mappings along the paths are copied; ``base_cfg`` is not changed."""
    cfg = {k: v for k, v in base_cfg.items() if k != "sweep"}
    for path, value in overrides.items():
        node = cfg
        for key in path[:-1]:
            child = node.get(key)
            node[key] = dict(child) if isinstance(child, Mapping) else {}
            node = node[key]
        node[path[-1]] = value
    return cfg


NOT_IN_POINT_ID = NOT_SWEPT + ("compute", "figures", "llg")
"""Config sections that do not determine a point's stores: where they go, how they are
computed (results do not depend on the chunking or the workers) and what is drawn from them."""


def point_id(point_cfg: Mapping[str, Any]) -> str:
    """The key of a point: SHA-256 (16 hex digits) of the canonical JSON (sorted keys, no
    spaces, ASCII) of its config without the sections of :data:`NOT_IN_POINT_ID`."""
    body = {k: v for k, v in point_cfg.items() if k not in NOT_IN_POINT_ID}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def describe_point(base_cfg: Mapping[str, Any], overrides: Mapping[tuple[str, ...], Any]) -> str:
    """'sweep.axes.<name> = <value>, ...' of a point (the key's path where no axis of
    ``base_cfg``'s sweep section sets it)."""
    names = axis_names_by_path(base_cfg)
    return ", ".join(f"sweep.axes.{names[p]} = {_show(v)}" if p in names else f"{'.'.join(p)} = {_show(v)}"
                     for p, v in overrides.items())


def axis_names_by_path(cfg: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """{path: axis name} of the axes of ``cfg``'s sweep section that resolve to a path."""
    section = cfg.get("sweep") if isinstance(cfg, Mapping) else None
    axes = section.get("axes") if isinstance(section, Mapping) else None
    out = {}
    for name, spec in (axes or {}).items():
        path = _path_of(name, spec, cfg)
        if path is not None:
            out.setdefault(path, name)
    return out


def _path_of(name: str, spec: Any, cfg: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The key an axis sets: its path, else its known short name, else a parameter of the model."""
    if isinstance(spec, Mapping) and isinstance(spec.get("path"), str):
        return tuple(spec["path"].split("."))
    if name in KNOWN_PATHS:
        return KNOWN_PATHS[name]
    if name in _model_parameters(cfg):
        return ("model", "parameters", name)
    return None


def _model_parameters(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    from .models import MODELS

    try:
        return tuple(p.name for p in MODELS[cfg["model"]["name"]].parameters)
    except (KeyError, TypeError):
        return ()


# ----------------------------------------------------------------------------- parsing


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    """The configuration schema (the file magcore.config validates against), read once."""
    return yaml.safe_load(resources.files("magcore").joinpath("data/config.schema.yaml").read_text())


def _key_schema(path: tuple[str, ...]) -> dict:
    props = _schema()["properties"]
    if path[:2] == ("model", "parameters"):
        return props["model"]["properties"]["parameters"]["additionalProperties"]
    return props[path[0]]["properties"][path[1]]


def _kinds(path: tuple[str, ...]) -> set[str]:
    kind = _key_schema(path).get("type", [])
    return set(kind if isinstance(kind, list) else [kind])


def _fail(message: str) -> None:
    raise SweepSpecError(f"config error: {message}")


def _check_path(name: str, path: tuple[str, ...], given: bool, cfg: Mapping[str, Any], model_cls) -> None:
    """Refuse a key that no sweep may set, or that this study's model or stages do not use."""
    where = f"sweep.axes.{name}.path = {'.'.join(path)!r}" if given else f"sweep.axes.{name}"
    model = cfg["model"]["name"]
    if path[0] in NOT_SWEPT:
        _fail(f"{where}: a sweep cannot change study, results_dir or sweep (its points are one study)")
    if path[:2] == ("model", "parameters") and len(path) == 3:
        allowed = [p.name for p in model_cls.parameters]
        if path[2] not in allowed:
            _fail(f"{where}: {path[2]!r} is not a parameter of model {model!r}; allowed: {', '.join(allowed)}")
        return
    if path == ("texture", "walls"):
        _fail(f"{where}: texture.walls cannot be swept: the wall types are already the wall dimension of "
              "the texture store; list them in texture.walls")
    ok = (path in (("model", "material"), ("magnetization", "magnitude"))
          or (len(path) == 2 and path[0] == "electrons" and path[1] in ELECTRON_KEYS)
          or (len(path) == 2 and path[0] == "texture" and path[1] in TEXTURE_KEYS)
          or (len(path) == 2 and path[0] == "mesh" and path[1] in LATTICE_MESH_KEYS + CONTINUUM_MESH_KEYS))
    if not ok:
        _fail(f"{where}: {'.'.join(path)} cannot be swept; sweepable: {SWEEPABLE}")
    if path == ("model", "material") and model != "tmd":
        _fail(f"{where}: model.material is only for model tmd, not {model!r}")
    if path[0] == "texture" and not cfg["texture"]["enabled"]:
        _fail(f"{where}: texture.{path[1]} changes only the texture stage, which is not enabled "
              "(texture.enabled: false)")
    if path[0] == "mesh":
        lattice = model_cls.domain == "lattice"
        used = LATTICE_MESH_KEYS if lattice else CONTINUUM_MESH_KEYS[:-1] if model_cls.dim == 1 \
            else CONTINUUM_MESH_KEYS
        if path[1] not in used:
            _fail(f"{where}: mesh.{path[1]} is not used by model {model!r} ({model_cls.dim}D "
                  f"{model_cls.domain}; its mesh is set by {', '.join('mesh.' + k for k in used)})")


def _length(name: str, spec: Mapping[str, Any]) -> int:
    """The number of values of an axis spec, without making them."""
    has_range = [k for k in ("start", "stop", "num") if k in spec]
    forms = [form for form, present in (("values", "values" in spec), ("{start, stop, num}", bool(has_range)),
                                        ("log", "log" in spec)) if present]
    if len(forms) != 1:
        _fail(f"sweep.axes.{name}: give one of values: [...], {{start, stop, num}} or log: {{start, stop, num}}"
              + (f" (got {' and '.join(forms)})" if forms else ""))
    if has_range and len(has_range) < 3:
        missing = [k for k in ("start", "stop", "num") if k not in spec]
        _fail(f"sweep.axes.{name}: start, stop and num go together ({', '.join(missing)} missing)")
    if "values" in spec:
        return len(spec["values"])
    return int((spec["log"] if "log" in spec else spec)["num"])


def _values(name: str, spec: Mapping[str, Any], path: tuple[str, ...]) -> tuple:
    """The values of an axis: numbers for keys of any number as floats, ranges of integer keys
    as integers."""
    kinds = _kinds(path)
    integer = "integer" in kinds and "number" not in kinds
    if "values" in spec:
        values = list(spec["values"])
        if "number" in kinds:
            values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
        return tuple(values)
    if "log" in spec:
        r = spec["log"]
        start, stop = float(r["start"]), float(r["stop"])
        if start == 0 or stop == 0 or (start < 0) != (stop < 0):
            _fail(f"sweep.axes.{name}.log: start and stop must be non-zero and of the same sign, got "
                  f"{r['start']!r} and {r['stop']!r}")
        with np.errstate(all="ignore"):
            values = np.geomspace(start, stop, int(r["num"])).tolist()
        where = f"sweep.axes.{name}.log"
    else:
        with np.errstate(all="ignore"):
            values = np.linspace(float(spec["start"]), float(spec["stop"]), int(spec["num"])).tolist()
        where = f"sweep.axes.{name}"
    if not all(math.isfinite(v) for v in values):
        _fail(f"{where}: start, stop and num give values that are not finite numbers")
    if integer:
        rounded = [round(v) for v in values]
        bad = [v for v, r in zip(values, rounded) if abs(v - r) > 1e-9 * max(1.0, abs(v))]
        if bad:
            _fail(f"{where}: {'.'.join(path)} takes integers, but start, stop and num give {bad[0]:g}; "
                  "give the values as a list")
        values = rounded
    return tuple(values)


def _units(path: tuple[str, ...], cfg: Mapping[str, Any], model_cls) -> tuple[str, str]:
    """(units, long_name) of an axis's coordinate."""

    def model_units() -> tuple[str, str]:
        if model_cls.energy_unit and model_cls.length_unit:
            return model_cls.energy_unit, model_cls.length_unit
        from .settings import ModelSettings  # units from the model's input (tight_binding)

        built = ModelSettings.from_section(cfg["model"]).build()
        return built.energy_unit, built.length_unit

    if path[:2] == ("model", "parameters"):
        p = next(p for p in model_cls.parameters if p.name == path[2])
        units = model_units()[0] if model_cls.name == "tight_binding" else p.units
        return units, p.description.split(" (")[0]
    units, long_name = _DESCRIPTIONS[path]
    if units in ("E", "hbar/E", "L", "1/L"):
        energy, length = model_units()
        units = {"E": energy, "hbar/E": f"hbar/{energy}", "L": length, "1/L": f"1/{length}"}[units]
    return units, long_name


def _counts(label: list[tuple[str, int]]) -> str:
    return " x ".join(f"{name} {n}" for name, n in label)


def parse(cfg: Mapping[str, Any]) -> Sweep | None:
    """The :class:`Sweep` of a resolved config (None without a sweep section or without axes).

    Refuses, with :class:`SweepSpecError` (a one-line config error naming the key): reserved or
    unknown axis names, keys that cannot be swept or that the study does not use, two axes over
    one key, malformed value specs, zip groups with unknown, repeated or mixed (cheap and
    expensive) axes or unequal lengths, a chemical-potential axis in a study that sets
    electrons.filling (or the other way round), repeated values, and sweeps beyond
    compute.limits.max_sweep_points or max_sweep_jobs (before any value is made)."""
    from .models import MODELS

    section = cfg.get("sweep")
    if not section:
        return None
    axes_spec = section.get("axes") or {}
    zips = section.get("zip") or []
    if not axes_spec:
        if zips:
            _fail("sweep.zip names axes, but sweep.axes is empty")
        return None
    model_cls = MODELS[cfg["model"]["name"]]
    paths: dict[str, tuple[str, ...]] = {}
    lengths: dict[str, int] = {}
    for name, spec in axes_spec.items():
        if name in RESERVED_NAMES:
            _fail(f"sweep.axes.{name}: {name!r} is a dimension or coordinate of the stores already; "
                  "give the axis another name (with its path)")
        path = _path_of(name, spec, cfg)
        if path is None:
            params = ", ".join(p.name for p in model_cls.parameters) or "none"
            known = ", ".join(n for n, p in KNOWN_PATHS.items() if p != ("texture", "walls"))
            _fail(f"sweep.axes.{name}: unknown axis name and no path; give path (e.g. model.parameters.{name}) "
                  f"or name the axis {known} or a parameter of model "
                  f"{cfg['model']['name']!r} ({params})")
        _check_path(name, path, "path" in spec, cfg, model_cls)
        for other, other_path in paths.items():
            if other_path == path:
                _fail(f"sweep.axes.{name}: sets {'.'.join(path)} like sweep.axes.{other}; give each key one axis")
        paths[name] = path
        lengths[name] = _length(name, spec)
    cheap = {name: path[0] == "electrons" and path[1] in CHEAP_KEYS for name, path in paths.items()}
    groups = _groups(zips, lengths, cheap)
    _check_electron_state(paths, cfg)
    _check_counts(groups, lengths, cheap, cfg)
    axes = []
    for name, spec in axes_spec.items():
        values = _values(name, spec, paths[name])
        units, long_name = _units(paths[name], cfg, model_cls)
        axes.append(Axis(name=name, path=paths[name], values=values, cheap=cheap[name], units=units,
                         long_name=long_name))
    for group in groups:
        _check_repeats(group, {a.name: a for a in axes})
    return Sweep(axes=tuple(axes), groups=groups)


def _groups(zips: Sequence[Sequence[str]], lengths: dict[str, int], cheap: dict[str, bool]) -> tuple:
    """The groups (zip groups and single axes) in the order of their first axis among the axes."""
    names = list(lengths)
    member: dict[str, int] = {}
    for i, group in enumerate(zips):
        for name in group:
            if name not in lengths:
                _fail(f"sweep.zip.{i}: unknown axis {name!r}; axes: {', '.join(names)}")
            if name in member:
                where = "twice in it" if member[name] == i else f"already in sweep.zip.{member[name]}"
                _fail(f"sweep.zip.{i}: axis {name!r} is {where}; an axis belongs to one group")
            member[name] = i
        if len({lengths[n] for n in group}) > 1:
            _fail(f"sweep.zip.{i}: the zipped axes have different lengths ({', '.join(f'{n} {lengths[n]}' for n in group)}); "
                  "zipped axes move together and need equal lengths")
        kinds = {cheap[n] for n in group}
        if len(kinds) > 1:
            c = ", ".join(n for n in group if cheap[n])
            e = ", ".join(n for n in group if not cheap[n])
            _fail(f"sweep.zip.{i}: mixes electron-state axes ({c}) with others ({e}): the electron states "
                  "are evaluated inside each job of the others; zip them separately")
    groups = [tuple(g) for g in zips] + [(n,) for n in names if n not in member]
    return tuple(sorted(groups, key=lambda g: names.index(g[0])))


def _check_electron_state(paths: dict[str, tuple[str, ...]], cfg: Mapping[str, Any]) -> None:
    """The chemical potential is set either by electrons.chemical_potential or by
    electrons.filling: an axis over one needs the other unset."""
    by_path = {path: name for name, path in paths.items()}
    mu, filling = by_path.get(("electrons", "chemical_potential")), by_path.get(("electrons", "filling"))
    el = cfg["electrons"]
    if mu and filling:
        _fail(f"sweep.axes.{mu} and sweep.axes.{filling}: electrons.chemical_potential and electrons.filling "
              "both set mu; sweep one or the other")
    if mu and el["filling"] is not None:
        _fail(f"sweep.axes.{mu}: electrons.filling = {el['filling']} sets mu mid-gap; remove electrons.filling "
              "to sweep electrons.chemical_potential")
    if filling and el["chemical_potential"] is not None:
        _fail(f"sweep.axes.{filling}: electrons.chemical_potential = {el['chemical_potential']} is given; "
              "set it to null to sweep electrons.filling")


def _check_counts(groups: tuple, lengths: dict[str, int], cheap: dict[str, bool], cfg: Mapping[str, Any]) -> None:
    limits = cfg["compute"]["limits"]
    sizes = [("+".join(g), lengths[g[0]]) for g in groups]
    total = math.prod(n for _, n in sizes)
    if total > limits["max_sweep_points"]:
        _fail(f"sweep: {_counts(sizes)}{f' = {total}' if len(sizes) > 1 else ''} points exceed compute.limits.max_sweep_points = "
              f"{limits['max_sweep_points']}; shorten the axes or raise compute.limits.max_sweep_points")
    expensive = [(label, n) for (label, n), g in zip(sizes, groups) if not cheap[g[0]]]
    jobs = math.prod(n for _, n in expensive)
    if jobs > limits["max_sweep_jobs"]:
        _fail(f"sweep: the expensive axes, {_counts(expensive)}, make {jobs} jobs (one per point), beyond "
              f"compute.limits.max_sweep_jobs = {limits['max_sweep_jobs']}; shorten them or raise "
              "compute.limits.max_sweep_jobs")


def _check_repeats(group: tuple[str, ...], axes: dict[str, Axis]) -> None:
    """No two points of a group (its rows) alike: they would be one point twice."""
    rows = list(zip(*(axes[n].values for n in group)))
    seen: dict[Any, int] = {}
    for i, row in enumerate(rows):
        key = tuple((type(v) is str, v) for v in row)
        if key in seen:
            shown = ", ".join(_show(v) for v in row)
            where = f"sweep.axes.{group[0]}" if len(group) == 1 else f"sweep.axes.{'/'.join(group)}"
            _fail(f"{where}: value {shown} is given twice (positions {seen[key]} and {i}); give each value once")
        seen[key] = i


# ----------------------------------------------------------------------------- checks


def check(cfg: Mapping[str, Any], validate: Callable[[dict], dict], error: type[Exception]) -> None:
    """Check the sweep section of a resolved config, raising ``error`` (one line naming the key).

    ``validate`` is :func:`magcore.config.validate` and ``error`` its ConfigError (passed in:
    magcore.config calls this function).  After :func:`parse`, every value of every axis (every
    row of a zip group) must make a valid single-point study, :func:`validate` of a point config;
    then the combined stores must fit in compute.limits.max_sweep_store_gb
    (:func:`magcore.budget.sweep_store_bytes`).

    The values are validated as points of the sweep: the k-th point validated takes the k-th
    row of every group (the first row of a group that has fewer), so every row is in one
    validated point and the number of validations is the length of the longest group.  When
    such a point is refused, each of its rows is validated alone (the other keys at the
    study's values) and the first refused is reported, naming its axes and values; if none is,
    the point is.  An electron-state value enters the single-point checks only through the
    schema of its key and, for the chemical potential, the band range (an interval): each value
    is checked against the schema (one the schema refuses is validated alone, for its message),
    and the validated points take the first row of the group and the rows of its lowest and
    highest chemical potential."""
    try:
        sweep = parse(cfg)
    except SweepSpecError as exc:
        raise error(str(exc)) from None
    if sweep is None:
        return
    if cfg["llg"]["enabled"] and cfg["llg"]["sphere_store"]:
        raise error("config error: llg.sphere_store: in a sweep the llg stage runs on each point's own sphere "
                    "maps; remove llg.sphere_store (or llg.enabled)")
    _check_sweep_figure(cfg, sweep, error)
    axes = {a.name: a for a in sweep.axes}

    def overrides_of(rows: Sequence[tuple[tuple[str, ...], int]]) -> dict[tuple[str, ...], Any]:
        return {axes[n].path: axes[n].values[i] for group, i in rows for n in group}

    def validate_point(rows: Sequence[tuple[tuple[str, ...], int]]) -> None:
        overrides = overrides_of(rows)
        try:
            validate(apply_overrides(cfg, overrides))
        except error as exc:
            inner = str(exc).removeprefix("config error: ")
            raise error(f"config error: {describe_point(cfg, overrides)}: {inner}") from None

    plan: list[tuple[tuple[str, ...], list[int]]] = []
    for group in sweep.groups:
        n = len(axes[group[0]].values)
        if not axes[group[0]].cheap:
            plan.append((group, list(range(n))))
            continue
        for i in range(n):
            if not all(_schema_accepts(axes[name].path, axes[name].values[i]) for name in group):
                validate_point([(group, i)])
        rows = {0}
        for name in group:
            if axes[name].path == ("electrons", "chemical_potential"):
                values = axes[name].values
                rows |= {min(range(n), key=values.__getitem__), max(range(n), key=values.__getitem__)}
        plan.append((group, sorted(rows)))
    for k in range(max(len(rows) for _, rows in plan)):
        point = [(group, rows[k] if k < len(rows) else rows[0]) for group, rows in plan]
        try:
            validate_point(point)
        except error:
            if len(point) > 1:
                for row in point:
                    validate_point([row])
            raise
    problem = _store_problem(sweep, cfg)
    if problem:
        raise error(problem)


def _check_sweep_figure(cfg: Mapping[str, Any], sweep: Sweep, error: type[Exception]) -> None:
    """figures.sweep names a sweep dimension, variables of the sphere maps and, for each further
    dimension of a variable, one of its labels."""
    from .quantities import BY_NAME

    figure = cfg["figures"]["sweep"]
    if figure["x"] is not None and figure["x"] not in sweep.dims():
        raise error(f"config error: figures.sweep.x = {_show(figure['x'])} is not a sweep dimension "
                    f"(one of {', '.join(sweep.dims())})")
    labels = {"component": ("x", "y", "z"), "component2": ("x", "y", "z"), "field": ("x", "y", "z", "w"),
              "field2": ("x", "y", "z", "w")}  # field labels beyond the model's k directions fail when drawn
    for i, entry in enumerate(figure["quantities"]):
        key = f"figures.sweep.quantities.{i}"
        q = BY_NAME.get(entry["variable"])
        if q is None:
            raise error(f"config error: {key}.variable = {_show(entry['variable'])} is not a variable of "
                        "sphere.zarr (docs/physics.md lists them)")
        select = entry.get("select", {})
        if set(select) != set(q.dims):
            raise error(f"config error: {key}.select must give one label for each of {list(q.dims) or 'no'} "
                        f"dimension(s) of {q.name}, got {sorted(select)}")
        for dim, label in select.items():
            if label not in labels[dim]:
                raise error(f"config error: {key}.select.{dim} = {_show(label)}: use one of {', '.join(labels[dim])}")


def _schema_accepts(path: tuple[str, ...], value: Any) -> bool:
    """Whether the schema of the key at ``path`` accepts ``value`` (finite numbers only)."""
    import jsonschema

    if isinstance(value, float) and not math.isfinite(value):
        return False
    return jsonschema.Draft202012Validator(_key_schema(path)).is_valid(value)


def _store_problem(sweep: Sweep, cfg: Mapping[str, Any]) -> str | None:
    """The message refusing a sweep whose combined stores exceed compute.limits.max_sweep_store_gb."""
    from .budget import GB, sweep_store_bytes
    from .settings import ModelSettings

    model = ModelSettings.from_section(cfg["model"]).build()
    groups = sweep.expensive_groups()
    axes = {a.name: a for a in sweep.axes}
    configs = (apply_overrides(cfg, {axes[n].path: axes[n].values[i] for g, i in zip(groups, index) for n in g})
               for index in itertools.product(*(range(len(axes[g[0]].values)) for g in groups)))
    n_states = math.prod(len(axes[g[0]].values) for g in sweep.cheap_groups())
    sizes = sweep_store_bytes(configs, n_states, model)
    total = sum(sizes.values())
    limit = cfg["compute"]["limits"]["max_sweep_store_gb"]
    if total <= limit * GB:
        return None
    parts = ", ".join(f"{stage} {size / GB:.3g} GB" for stage, size in sizes.items())
    return (f"config error: sweep: the combined stores of {sweep.n_points()} points ({sweep.n_jobs()} jobs x "
            f"{n_states} electron states) would take {total / GB:.3g} GB ({parts}), beyond "
            f"compute.limits.max_sweep_store_gb = {limit:g}; shorten the axes, reduce sphere.n_theta, "
            "sphere.n_phi or raise compute.limits.max_sweep_store_gb")
