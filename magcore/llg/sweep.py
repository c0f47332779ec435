"""Parameter sweeps: many LLG trajectories over a grid of named parameters, classified.

The grid is the outer product of named axes (any names: ``B_over_K``, ``H_over_K``, ``alpha``,
``theta0``, ``phi0``, ...).  The model, the initial vectors and the known minima are specs in
which numbers may be expressions of the axis names (see :func:`magcore.llg.model.build_llg`);
each chunk of grid points is one batch of the integrator, and chunks may run on a Dask client.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import xarray as xr

from ..engine import chunks_of, map_reduce
from ._util import from_angles, numeric, to_angles
from .classify import CLASS_MEANINGS, CLASS_VALUES, ClassifyOptions, classify
from .integrate import STATUS_MEANINGS, integrate_llg
from .interp import SphereMaps
from .model import LLG, build_llg

log = logging.getLogger(__name__)


def axis_values(spec) -> np.ndarray:
    """Axis values from a list, an array, {values: [...]}, or {start, stop, num} (inclusive)."""
    if isinstance(spec, Mapping):
        if "values" in spec:
            return np.asarray(numeric(list(spec["values"])), float).ravel()
        return np.linspace(float(numeric(spec["start"])), float(numeric(spec["stop"])), int(spec["num"]))
    return np.atleast_1d(np.asarray(numeric(list(spec) if isinstance(spec, (list, tuple)) else spec), float))


def initial_vectors(initial, names: Mapping[str, Any], n: int) -> np.ndarray:
    """Initial unit vectors (n, 3) from ``{theta, phi, polar_axis}`` (angles in the frame of
    :func:`magcore.llg._util.frame_vectors`; ``polar_axis: y`` is the frame of dissertation
    sec. 2.4), ``{m: [mx, my, mz]}``, or a callable names -> (n, 3)."""
    if callable(initial):
        m = np.asarray(initial(names), float)
    elif initial.get("m") is not None:  # the config fills absent keys with null
        m = numeric(initial["m"], names)
    else:
        m = from_angles(numeric(initial["theta"], names), numeric(initial["phi"], names),
                        str(initial.get("polar_axis") or "z"))
    m = np.broadcast_to(m, (n, 3)).copy()
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def minima_vectors(minima, names: Mapping[str, Any], n: int) -> np.ndarray | None:
    """Known minima (n, k, 3) from a list of vectors (entries may be expressions) or a callable."""
    if minima is None:
        return None
    if callable(minima):
        mins = np.asarray(minima(names), float)
    else:
        mins = np.stack([np.broadcast_to(numeric(v, names), (n, 3)) for v in minima], axis=1)
    mins = np.broadcast_to(mins, (n,) + mins.shape[-2:])
    return mins / np.linalg.norm(mins, axis=-1, keepdims=True)


def _constants(model) -> dict:
    """The numeric ``parameters`` of a model spec (names its expressions may use)."""
    if isinstance(model, Mapping):
        return {k: numeric(v) for k, v in (model.get("parameters") or {}).items()}
    return {}


def _recorded_trajectories(llg: LLG, recording, record_times: np.ndarray) -> dict[str, np.ndarray]:
    """The recorded states of a chunk (``rec_m``, ``rec_aux``) and the conservative energy along
    them (``rec_energy``, NaN where a trajectory was not reached)."""
    mr = recording.m
    flat = mr.reshape(-1, 3)
    good = np.all(np.isfinite(flat), axis=1)
    e = np.full(len(flat), np.nan)
    rows = np.repeat(recording.index, len(record_times))
    if good.any():
        e[good] = llg.energy(flat[good], rows[good])
    return {"rec_m": mr, "rec_energy": e.reshape(mr.shape[:2]), "rec_aux": recording.aux}


def _run_chunk(model, sphere, initial, minima, t_end: float, tail_times: np.ndarray, record_times: np.ndarray,
               integrator: dict, options: ClassifyOptions, params: dict[str, np.ndarray],
               record_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Integrate and classify the grid points of one chunk (``params``: axis name -> values of
    the chunk); per-trajectory arrays keyed as the store's variables, plus the trajectories of
    the chunk's rows ``record_rows`` at ``record_times`` (``rec_*``)."""
    n = len(next(iter(params.values())))
    llg: LLG = model(params) if callable(model) else build_llg(model, params, sphere=sphere)
    m0 = initial_vectors(initial, {**_constants(model), **params}, n)
    mins = minima_vectors(minima, {**_constants(model), **params}, n)
    rec = [(tail_times, None)]
    if len(record_rows):
        rec.append((record_times, record_rows))
    res = integrate_llg(llg, m0, t_end, record=rec, **integrator)
    tail = res.recordings[0]
    cls = classify(tail_times, tail.m, tail.aux, res.status, mins, options, llg.energy_balance_holds)
    idx = np.arange(n)
    speed = np.linalg.norm(llg.rate(res.m, idx), axis=1)
    out = {**cls, "final_m": res.m, "initial_m": m0, "final_energy": llg.energy(res.m, idx),
           "final_speed": speed, "final_time": res.t, "work_input": res.aux[:, 0], "dissipation": res.aux[:, 1],
           "n_steps": res.n_steps, "n_rejected": res.n_rejected, "status": res.status}
    if len(record_rows):
        out.update(_recorded_trajectories(llg, res.recordings[1], record_times))
    return out


@dataclass(frozen=True)
class _Grid:
    """The sweep grid: axis ``names`` in order, their ``values``, the grid ``shape``, and each
    axis's value at every grid point in flat (C) order (``flat``)."""

    names: list[str]
    values: dict[str, np.ndarray]
    shape: tuple[int, ...]
    flat: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def _make_grid(axes: Mapping[str, Any]) -> _Grid:
    """The outer product of the named ``axes`` (see :func:`axis_values`)."""
    names = list(axes)
    if not names:
        raise ValueError("sweep needs at least one axis")
    values = {k: axis_values(v) for k, v in axes.items()}
    shape = tuple(len(values[k]) for k in names)
    grids = np.meshgrid(*[values[k] for k in names], indexing="ij")
    return _Grid(names, values, shape, {k: g.ravel() for k, g in zip(names, grids)})


def _record_points(record: Mapping[str, Mapping[str, float]] | None, grid: _Grid) -> tuple[list[str], np.ndarray]:
    """Names and flat grid indices of the recorded points: the grid point nearest to each given
    point, unspecified axes at their first value."""
    names, flat = [], []
    for rname, point in (record or {}).items():
        unknown = set(point) - set(grid.names)
        if unknown:
            raise ValueError(f"record point {rname!r} names unknown axes {sorted(unknown)}")
        ii = [int(np.argmin(np.abs(grid.values[k] - float(point[k])))) if k in point else 0 for k in grid.names]
        names.append(str(rname))
        flat.append(int(np.ravel_multi_index(ii, grid.shape)))
    return names, np.asarray(flat, dtype=np.int64)


def _chunk_args(flat: dict[str, np.ndarray], recorded: np.ndarray, items: slice) -> tuple:
    """Task arguments of the grid points ``items``: their axis values, and the rows within the
    chunk of the recorded points (flat indices ``recorded``)."""
    rows = np.nonzero(np.isin(np.arange(items.start, items.stop), recorded))[0]
    return {k: v[items] for k, v in flat.items()}, rows


def _variable(dims, data, long_name, units, equation, **extra) -> tuple:
    """(dims, data, attrs) of a store variable."""
    return (dims, data, {"long_name": long_name, "units": units, "equation": equation, **extra})


def _per(unit: str) -> str:
    """The units of a rate in ``unit`` (1/unit; "1" for a dimensionless time)."""
    return "1" if str(unit).strip() in ("", "1") else f"1/({unit})"


def _grid_variables(results: list[dict[str, np.ndarray]], grid: _Grid, options: ClassifyOptions,
                    time_unit: str, energy_unit: str) -> dict[str, tuple]:
    """The per-grid-point store variables from the chunk results (in flat grid order)."""
    A, C = tuple(grid.names), ("component",)
    tu, eu = time_unit, energy_unit
    var = _variable

    def grid_of(key, tail=()):
        return np.concatenate([r[key] for r in results]).reshape(grid.shape + tail)

    return {
        "final_class": var(A, grid_of("final_class"), "final state of the trajectory", "1", "-",
                           flag_values=np.array(CLASS_VALUES, dtype=np.int8), flag_meanings=CLASS_MEANINGS,
                           criteria=options.describe()),
        "final_m": var(A + C, grid_of("final_m", (3,)), "magnetization direction at the end time", "1", "2.15, 2.26"),
        "initial_m": var(A + C, grid_of("initial_m", (3,)), "initial magnetization direction", "1", "-"),
        "minimum_index": var(A, grid_of("minimum_index"),
                             "index of the known minimum reached (-1: none or not a fixed point)", "1", "-"),
        "final_energy": var(A, grid_of("final_energy"), "energy density of the conservative terms at the end", eu,
                            "2.12"),
        "final_speed": var(A, grid_of("final_speed"), "|dm_hat/dt| at the end time", _per(tu), "2.15, 2.26"),
        "final_time": var(A, grid_of("final_time"), "time reached (t_end unless stopped)", tu, "-"),
        "period": var(A, grid_of("period"), "limit-cycle period (last full period)", tu, "-"),
        "amplitude": var(A, grid_of("amplitude"),
                         "limit-cycle amplitude: half peak-to-peak polar angle about the winding axis", "rad", "-"),
        "cone_angle": var(A, grid_of("cone_angle"), "limit-cycle mean polar angle about the winding axis", "rad", "-"),
        "cycle_axis": var(A + C, grid_of("cycle_axis", (3,)), "winding axis of the cycle (rotation positive about it)",
                          "1", "-"),
        "cycle_center": var(A + C, grid_of("cycle_center", (3,)), "cycle centre: normalised mean of m over a period",
                            "1", "-"),
        "cycle_polar_min": var(A, grid_of("cycle_polar_min"), "min polar angle of m about the winding axis", "rad",
                               "-"),
        "cycle_polar_max": var(A, grid_of("cycle_polar_max"), "max polar angle of m about the winding axis", "rad",
                               "-"),
        "work_input_per_period": var(A, grid_of("work_input_per_period"),
                                     "work of the non-conservative fields per period, |m| int H_nc . dm_hat", eu,
                                     "2.22, 2.25, 2.42"),
        "dissipation_per_period": var(A, grid_of("dissipation_per_period"),
                                      "energy dissipated per period, |m|^2 int m_hat_dot . eta . m_hat_dot dt", eu,
                                      "2.11, 2.15"),
        "n_turns": var(A, grid_of("n_turns"), "turns about the winding axis in the tail window", "1", "-"),
        "settle_displacement": var(A, grid_of("settle_displacement"),
                                   "max angle from the final m over the settle window", "rad", "-"),
        "work_input": var(A, grid_of("work_input"), "total work of the non-conservative fields", eu, "2.25"),
        "dissipation": var(A, grid_of("dissipation"), "total dissipated energy", eu, "2.11"),
        "n_steps": var(A, grid_of("n_steps"), "accepted integrator steps", "1", "-"),
        "n_rejected": var(A, grid_of("n_rejected"), "rejected integrator steps", "1", "-"),
        "status": var(A, grid_of("status"), "integrator status bits (0: reached t_end)", "1", "-",
                      flag_masks=np.array([1, 2, 4, 8], dtype=np.int8), flag_meanings=STATUS_MEANINGS),
    }


def _grid_coords(grid: _Grid) -> dict[str, tuple]:
    """The sweep axes and the Cartesian component as coordinates."""
    coords = {k: (k, grid.values[k], {"long_name": f"sweep axis {k}", "units": "1"}) for k in grid.names}
    coords["component"] = ("component", np.array(["x", "y", "z"], dtype=object),
                           {"long_name": "Cartesian component", "units": "1"})
    return coords


def _trajectory_variables(results: list[dict[str, np.ndarray]], chunks, grid: _Grid, rec_names: list[str],
                          rec_flat: np.ndarray, record_times: np.ndarray, time_unit: str,
                          energy_unit: str) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Store variables and coordinates of the recorded trajectories, in the order the record
    points were given (``rec_flat``: their flat grid indices)."""
    var, eu = _variable, energy_unit
    recorded = [r for r in results if "rec_m" in r]
    rec_m = np.concatenate([r["rec_m"] for r in recorded])
    rec_e = np.concatenate([r["rec_energy"] for r in recorded])
    rec_aux = np.concatenate([r["rec_aux"] for r in recorded])
    # rows come in flat order of the recorded points
    order_flat = np.concatenate([np.arange(c.items.start, c.items.stop)[c.args[1]] for c in chunks])
    row_of = {int(f): i for i, f in enumerate(order_flat)}
    sel = np.array([row_of[int(f)] for f in rec_flat])
    final_class = np.concatenate([r["final_class"] for r in results])
    T, Tm = ("trajectory", "time"), ("trajectory", "time", "component")
    data = {
        "trajectory_m": var(Tm, rec_m[sel], "recorded magnetization direction", "1", "2.15, 2.26"),
        "trajectory_energy": var(T, rec_e[sel], "energy density of the conservative terms", eu, "2.12"),
        "trajectory_work_input": var(T, rec_aux[sel, :, 0], "cumulative work of the non-conservative fields",
                                     eu, "2.25"),
        "trajectory_dissipation": var(T, rec_aux[sel, :, 1], "cumulative dissipated energy", eu, "2.11"),
        "trajectory_class": var(("trajectory",), final_class[rec_flat], "final state class", "1", "-",
                                flag_values=np.array(CLASS_VALUES, dtype=np.int8), flag_meanings=CLASS_MEANINGS),
    }
    coords = {
        "trajectory": ("trajectory", np.array(rec_names, dtype=object),
                       {"long_name": "name of a recorded grid point", "units": "1"}),
        "time": ("time", record_times, {"long_name": "time", "units": time_unit}),
    }
    for k in grid.names:
        coords[f"trajectory_{k}"] = ("trajectory", grid.flat[k][rec_flat],
                                     {"long_name": f"{k} of the recorded point", "units": "1"})
    return data, coords


def sweep(model: Mapping[str, Any] | Callable[[dict], LLG], axes: Mapping[str, Any], *, initial,
          t_end: float, sphere: xr.Dataset | SphereMaps | None = None, minima=None,
          record: Mapping[str, Mapping[str, float]] | None = None, n_record: int = 1001,
          tail_fraction: float = 0.25, n_tail: int = 1024, chunk_size: int = 2048,
          rtol: float = 1e-8, atol: float = 1e-10, max_step: float = np.inf, max_steps: int = 1_000_000,
          singular_radius: float = 1e-3, options: ClassifyOptions = ClassifyOptions(), client=None,
          time_unit: str = "1", energy_unit: str = "1", attrs: Mapping[str, Any] | None = None,
          checkpoints=None) -> xr.Dataset:
    """Integrate and classify one trajectory of the LLG equation (eqs. 2.15, 2.26) per grid
    point of ``axes``.

    ``model``: an ``llg.model`` spec (dict, see :func:`build_llg`) or a callable params -> LLG
    (params: dict axis name -> (n,) values of the chunk); ``axes``: ordered mapping name ->
    values (list, array, or {start, stop, num}); ``initial``: {theta, phi, polar_axis} or {m}
    (expressions of the axes) or a callable; ``minima``: known minima to index fixed points
    (vectors, entries may be expressions); ``record``: name -> {axis: value} points whose full
    trajectories are kept (nearest grid point; unspecified axes take their first value) at
    ``n_record`` times in [0, t_end].  The tail window for classification is the last
    ``tail_fraction`` of [0, t_end], sampled at ``n_tail`` times; criteria in ``options``
    (:class:`ClassifyOptions`).  Chunks of ``chunk_size`` grid points are integrated as
    batches, on ``client`` (dask.distributed) if given.  ``singular_radius``: stop at this
    distance (rad) from singular points of the fields (class ``singular_point``).
    Times in ``time_unit``, energy densities in ``energy_unit`` (stored as the variables' units).
    """
    grid = _make_grid(axes)
    maps = sphere
    if sphere is not None and not isinstance(sphere, SphereMaps) and isinstance(model, Mapping):
        maps = SphereMaps(sphere, nan_policy=model.get("nan_policy", "raise"))
    t_end = float(t_end)
    tail_times = np.linspace(t_end * (1 - tail_fraction), t_end, int(n_tail))
    record_times = np.linspace(0.0, t_end, int(n_record))
    rec_names, rec_flat = _record_points(record, grid)
    integrator = dict(rtol=rtol, atol=atol, max_step=max_step, max_steps=max_steps, singular_radius=singular_radius)
    chunks = chunks_of(grid.size, chunk_size, functools.partial(_chunk_args, grid.flat, rec_flat))
    started = time.monotonic()
    results = map_reduce(_run_chunk, chunks, shared=(model, maps, initial, minima, t_end, tail_times, record_times,
                                                     integrator, options),
                         n_items=grid.size, client=client, checkpoints=checkpoints, label="llg sweep")

    data = _grid_variables(results, grid, options, time_unit, energy_unit)
    coords = _grid_coords(grid)
    if len(rec_flat):
        rec_data, rec_coords = _trajectory_variables(results, chunks, grid, rec_names, rec_flat, record_times,
                                                     time_unit, energy_unit)
        data.update(rec_data)
        coords.update(rec_coords)
    store_attrs = {"t_end": t_end, "rtol": rtol, "atol": atol, "tail_start": float(tail_times[0]),
                   "n_tail": int(n_tail), "singular_radius": singular_radius, "classification": options.describe(),
                   "time_unit": time_unit, "energy_unit": energy_unit, "n_trajectories": grid.size,
                   "wall_time_s": round(time.monotonic() - started, 3)}
    if isinstance(model, Mapping):
        store_attrs["model"] = json.dumps(model, default=str)
    if not callable(initial):
        store_attrs["initial"] = json.dumps(initial, default=str)
    if minima is not None and not callable(minima):
        store_attrs["minima"] = json.dumps(minima, default=str)
    store_attrs.update(attrs or {})
    return xr.Dataset(data_vars=data, coords=coords, attrs=store_attrs)


def sweep_from_config(cfg: Mapping[str, Any], sphere=None, client=None, checkpoints=None) -> xr.Dataset:
    """:func:`sweep` from the ``llg`` config section::

        model: {...}                         # build_llg spec
        axes: {B_over_K: {start: -0.2, stop: 0.2, num: 41}, theta0: [0.3, 0.7]}
        initial: {theta: "theta0*pi", phi: 0.0, polar_axis: y}
        minima: [[1, 0, 0], [-1, 0, 0]]      # optional
        t_end: 600
        record: {red: {theta0: 0.3}}        # optional
        n_record: 1001
        tail: {fraction: 0.25, samples: 1024}
        integrator: {rtol: 1e-8, atol: 1e-10, chunk_size: 2048, max_steps: 1000000, singular_radius: 1e-3}
        classify: {fixed_tol: 1e-4, period_rtol: 2e-3, ...}   # ClassifyOptions fields
        units: {time: "1/K", energy: "K"}
    """
    integ = dict(cfg.get("integrator") or {})
    tail = dict(cfg.get("tail") or {})
    units = dict(cfg.get("units") or {})
    return sweep(cfg["model"], cfg["axes"], initial=cfg["initial"], t_end=float(cfg["t_end"]), sphere=sphere,
                 minima=cfg.get("minima"), record=cfg.get("record"), n_record=int(cfg.get("n_record", 1001)),
                 tail_fraction=float(tail.get("fraction", 0.25)), n_tail=int(tail.get("samples", 1024)),
                 chunk_size=int(integ.get("chunk_size", 2048)), rtol=float(integ.get("rtol", 1e-8)),
                 atol=float(integ.get("atol", 1e-10)),
                 max_step=np.inf if integ.get("max_step") is None else float(integ["max_step"]),
                 max_steps=int(integ.get("max_steps", 1_000_000)),
                 singular_radius=float(integ.get("singular_radius", 1e-3)),
                 options=ClassifyOptions(**(cfg.get("classify") or {})), client=client,
                 time_unit=str(units.get("time", "1")), energy_unit=str(units.get("energy", "1")),
                 checkpoints=checkpoints)


def edge_angles(ds: xr.Dataset, var: str = "trajectory_m") -> tuple[xr.DataArray, xr.DataArray]:
    """(theta, phi) of a stored vector variable in the frame of dissertation sec. 2.4 (polar
    axis y, phi from z towards x), for plotting trajectories like Figs. 2.6-2.13."""
    th, ph = to_angles(ds[var].transpose(..., "component").values, "y")
    dims = [d for d in ds[var].dims if d != "component"]
    return (xr.DataArray(th, dims=dims, attrs={"long_name": "polar angle from y", "units": "rad"}),
            xr.DataArray(ph, dims=dims, attrs={"long_name": "azimuth from z towards x", "units": "rad"}))
