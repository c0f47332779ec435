"""Mesh convergence of a sweep store: the relative change of each quantity between successive meshes.

A sweep whose axes include a mesh key (``mesh.n_k``, ``mesh.k_cutoff``, ...) holds the same
quantities computed on several meshes.  Along a mesh dimension with values ``mesh_0, mesh_1,
...`` (in the order of the axis, which is taken to run from coarse to fine), step ``i`` compares
``X(mesh_i)`` with ``X(mesh_i+1)`` at every other point of the store (magnetization directions,
components, the other sweep dimensions):

    relative_change_i = max |X(mesh_i+1) - X(mesh_i)| / max |X(mesh_i+1)|

both maxima over the same points.  A point that is NaN or infinite at either mesh is left out of
both maxima and counted (``n_ignored``).  A quantity whose largest magnitude at both meshes is at
most ``round_off`` (1e-12) times its reference scale is zero to round-off there: its relative
change is set to 0 and ``zero_to_round_off`` says so.  The reference scale is the largest finite
magnitude anywhere in the store of the quantity itself and of the compared quantities it is a
part of: those in the same ``units`` whose name followed by ``_`` begins its name (the catalogue
names the parts of a quantity ``<quantity>_<part>``: ``torque_H_damping_like`` is a part of
``torque_H``, ``field_induced_field_intrinsic_even`` of ``field_induced_field_intrinsic`` and of
``field_induced_field``).  A part that vanishes by symmetry (e.g. an even part the model does
not have) is round-off everywhere and has no scale of its own; it is a difference of values of
the whole, and its round-off is relative to the whole.  A quantity exactly zero wherever it is
compared, with a reference scale of 0, is zero too.  A
variable stored without the mesh dimension (equal at every mesh, so stored once) changes by
exactly 0.

The finest mesh meets a tolerance for a quantity when the relative change of the last step is
below it.  With several mesh dimensions (mesh axes that are not zipped together), each is
compared at the last (finest) value of the others, and a quantity meets the tolerance when the
last step of every one does.

Nothing here knows physics: the quantities are the variables of the catalogue
(:data:`magcore.quantities.SPHERE_QUANTITIES`) found in the store, integer and boolean ones
left out, with their ``long_name`` and ``units`` taken from the store.  Report variables in the
units of each quantity (``max_abs_change``, ``scale``, ...) have no single ``units`` attribute:
``units_from`` names the coordinate that gives them per quantity (``quantity_units``), as for
mesh values of several mesh axes (``mesh_units``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

ROUND_OFF = 1e-12
"""A quantity at most this fraction of its scale (largest finite |value| in the store) at both
meshes of a step is zero to round-off there."""


def mesh_dimensions(sweep) -> dict[str, str]:
    """{dimension: axis name} of the dimensions of ``sweep`` (a :class:`magcore.sweep.Sweep`)
    along which a mesh key changes: a mesh axis's dimension (the first axis of its zip group),
    with the first mesh axis of that group as the axis whose values label the steps.  Empty when
    no axis with more than one value sets a mesh key."""
    out: dict[str, str] = {}
    for axis in sweep.axes:
        if axis.path[0] == "mesh" and len(axis.values) > 1:
            out.setdefault(sweep.dim_of(axis.name), axis.name)
    return out


def quantity_names(ds: xr.Dataset, variables: Sequence[str] | None = None) -> list[str]:
    """The variables of ``ds`` to compare: ``variables`` if given, else the catalogue's sphere
    quantities present in ``ds`` (catalogue order); integer and boolean variables are left out."""
    if variables is None:
        from .quantities import SPHERE_QUANTITIES

        variables = [q.name for q in SPHERE_QUANTITIES if q.name in ds.data_vars]
    return [name for name in variables if ds[name].dtype.kind not in "biu"]


def _finite_max_abs(x: np.ndarray) -> float:
    x = np.abs(np.asarray(x))
    x = x[np.isfinite(x)]
    return float(x.max()) if x.size else 0.0


def _compare(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """The maxima of one step between a coarser mesh (``a``) and the next (``b``), over the
    points finite at both."""
    ok = np.isfinite(a) & np.isfinite(b)
    n_compared, n_ignored = int(ok.sum()), int(ok.size - ok.sum())
    if n_compared == 0:
        return {"max_abs_change": np.nan, "max_abs_finer": np.nan, "max_abs_coarser": np.nan,
                "n_compared": 0, "n_ignored": n_ignored}
    a, b = a[ok], b[ok]
    return {"max_abs_change": float(np.abs(b - a).max()), "max_abs_finer": float(np.abs(b).max()),
            "max_abs_coarser": float(np.abs(a).max()), "n_compared": n_compared, "n_ignored": n_ignored}


def _judge(step: dict[str, Any], reference: float, round_off: float) -> dict[str, Any]:
    """``step`` (:func:`_compare`) with its relative change and whether it is zero to round-off."""
    if step["n_compared"] == 0:
        return {**step, "relative_change": np.nan, "zero_to_round_off": False}
    change, finer = step["max_abs_change"], step["max_abs_finer"]
    zero = max(finer, step["max_abs_coarser"]) <= round_off * reference
    if zero or change == 0.0:
        relative = 0.0
    else:
        relative = change / finer if finer > 0 else np.inf
    return {**step, "relative_change": relative, "zero_to_round_off": bool(zero)}


def _steps(da: xr.DataArray, dim: str) -> tuple[list[dict[str, Any]], float]:
    """:func:`_compare` of every step of ``da`` along ``dim`` and its largest finite |value|,
    reading one mesh value at a time (each once)."""
    steps, scale, previous = [], 0.0, None
    for i in range(da.sizes[dim]):
        x = np.asarray(da.isel({dim: i}).values, float)
        scale = max(scale, _finite_max_abs(x))
        if previous is not None:
            steps.append(_compare(previous, x))
        previous = x
    return steps, scale


_FIELDS = ("relative_change", "max_abs_change", "max_abs_finer", "zero_to_round_off", "n_compared", "n_ignored")


def relative_changes(ds: xr.Dataset, dim: str, *, axis: str | None = None, variables: Sequence[str] | None = None,
                     hold: Mapping[str, int] | None = None, round_off: float = ROUND_OFF) -> xr.Dataset:
    """The relative change of every quantity of ``ds`` between successive values of ``dim``.

    ``axis`` names the coordinate along ``dim`` whose values label the steps (default ``dim``);
    ``variables`` the variables compared (default :func:`quantity_names`); ``hold`` fixes
    other dimensions at an index ({dim: index}) before anything is compared.  Each variable is
    read one mesh value at a time, each once.  Returns a Dataset with dimensions (quantity,
    mesh_step), described in the module docstring (variables relative_change, max_abs_change,
    max_abs_finer, zero_to_round_off, n_compared, n_ignored, scale, reference_scale)."""
    axis = axis or dim
    hold = dict(hold or {})
    if dim in hold:
        raise ValueError(f"cannot hold the compared dimension {dim!r}")
    n = ds.sizes[dim]
    if n < 2:
        raise ValueError(f"a convergence report needs at least 2 values along {dim!r}, got {n}")
    names = quantity_names(ds, variables)
    rows: dict[str, list[list[Any]]] = {f: [] for f in _FIELDS}
    units = [str(ds[name].attrs.get("units", "")) for name in names]
    compared, scales = [], []
    for name in names:
        da = ds[name].isel({d: i for d, i in hold.items() if d in ds[name].dims})
        if dim in da.dims:
            steps, scale = _steps(da, dim)
        else:  # stored once: the same at every mesh
            x = np.asarray(da.values, float)
            steps, scale = [_compare(x, x)] * (n - 1), _finite_max_abs(x)
        compared.append(steps)
        scales.append(scale)
    reference = [max([scale] + [scales[j] for j, whole in enumerate(names)
                                if units[j] == unit and name.startswith(whole + "_")])
                 for name, scale, unit in zip(names, scales, units)]
    for steps, ref in zip(compared, reference):
        judged = [_judge(step, ref, round_off) for step in steps]
        for f in _FIELDS:
            rows[f].append([step[f] for step in judged])
    coord = ds[axis]
    values = coord.values
    coord_units, coord_name = coord.attrs.get("units", ""), coord.attrs.get("long_name", axis)
    q = ("quantity", "mesh_step")
    data_vars = {
        "relative_change": (q, np.array(rows["relative_change"], float).reshape(len(names), n - 1), {
            "long_name": "relative change from the previous mesh, max |X(mesh_i+1) - X(mesh_i)| / max |X(mesh_i+1)| "
                         "over the points finite at both meshes (0 where zero to round-off)",
            "units": "1"}),
        "max_abs_change": (q, np.array(rows["max_abs_change"], float).reshape(len(names), n - 1), {
            "long_name": "max |X(mesh_i+1) - X(mesh_i)| over the points finite at both meshes",
            "units_from": "quantity_units"}),
        "max_abs_finer": (q, np.array(rows["max_abs_finer"], float).reshape(len(names), n - 1), {
            "long_name": "max |X(mesh_i+1)| over the points finite at both meshes",
            "units_from": "quantity_units"}),
        "zero_to_round_off": (q, np.array(rows["zero_to_round_off"], bool).reshape(len(names), n - 1), {
            "long_name": f"the quantity is at most {round_off:g} of its reference_scale at both meshes "
                         "(counts as converged)",
            "units": "1"}),
        "n_compared": (q, np.array(rows["n_compared"], np.int64).reshape(len(names), n - 1), {
            "long_name": "points finite at both meshes (compared)", "units": "1"}),
        "n_ignored": (q, np.array(rows["n_ignored"], np.int64).reshape(len(names), n - 1), {
            "long_name": "points NaN or infinite at either mesh (left out)", "units": "1"}),
        "scale": (("quantity",), np.array(scales, float), {
            "long_name": "largest finite |X| in the store (at the held values)",
            "units_from": "quantity_units"}),
        "reference_scale": (("quantity",), np.array(reference, float), {
            "long_name": "largest scale of the quantity and of the compared quantities in its units it is a part "
                         f"of (named <quantity>_<part>); zero to round-off: at most {round_off:g} of it at both meshes",
            "units_from": "quantity_units"}),
    }
    coords = {
        "quantity": ("quantity", np.array(names, dtype=object), {"long_name": "compared variable of the store"}),
        "quantity_units": ("quantity", np.array([ds[m].attrs.get("units", "") for m in names], dtype=object),
                           {"long_name": "units of the quantity"}),
        "quantity_long_name": ("quantity", np.array([ds[m].attrs.get("long_name", m) for m in names], dtype=object),
                               {"long_name": "long name of the quantity"}),
        "mesh_step": ("mesh_step", np.arange(n - 1), {"long_name": "step i: from mesh value i to mesh value i + 1"}),
        "mesh_dim": ("mesh_step", np.array([dim] * (n - 1), dtype=object),
                     {"long_name": "sweep dimension along which the mesh changes"}),
        "mesh_axis": ("mesh_step", np.array([axis] * (n - 1), dtype=object),
                      {"long_name": "sweep axis whose values label the step"}),
        "mesh_units": ("mesh_step", np.array([coord_units] * (n - 1), dtype=object),
                       {"long_name": "units of the mesh values"}),
        "mesh_long_name": ("mesh_step", np.array([coord_name] * (n - 1), dtype=object),
                           {"long_name": "long name of the mesh axis"}),
        "mesh_from": ("mesh_step", np.asarray(values[:-1], float),
                      {"long_name": f"coarser mesh value of the step ({coord_name})", "units": coord_units}),
        "mesh_to": ("mesh_step", np.asarray(values[1:], float),
                    {"long_name": f"finer mesh value of the step ({coord_name})", "units": coord_units}),
    }
    attrs = {"mesh_dims": json.dumps([dim]), "round_off": round_off,
             "held": json.dumps({d: int(i) for d, i in hold.items()})}
    return xr.Dataset(data_vars, coords, attrs)


def convergence_report(ds: xr.Dataset, mesh_dims: Mapping[str, str], tolerance: float, *,
                       variables: Sequence[str] | None = None, round_off: float = ROUND_OFF) -> xr.Dataset:
    """The convergence of the quantities of ``ds`` along each of its mesh dimensions
    (``mesh_dims``: {dimension: axis labelling it}, :func:`mesh_dimensions`), each at the last
    value of the others, steps of all dimensions one after the other along ``mesh_step``; plus
    ``meets_tolerance`` (quantity): the last step of every mesh dimension changes by less than
    ``tolerance`` (relative; zero to round-off counts as meeting it, a step with no finite
    point to compare does not)."""
    if not mesh_dims:
        raise ValueError("the store has no mesh dimension to report convergence along")
    if not tolerance > 0:
        raise ValueError(f"the tolerance must be > 0, got {tolerance!r}")
    parts = []
    for dim, axis in mesh_dims.items():
        hold = {d: ds.sizes[d] - 1 for d in mesh_dims if d != dim}
        parts.append(relative_changes(ds, dim, axis=axis, variables=variables, hold=hold, round_off=round_off))
    out = xr.concat(parts, dim="mesh_step", data_vars="minimal", coords="minimal", compat="override",
                    join="override") if len(parts) > 1 else parts[0]
    out = out.assign_coords(mesh_step=np.arange(out.sizes["mesh_step"]))
    if len(parts) > 1:  # values of different axes along one dimension: their units per step
        for name, which in (("mesh_from", "coarser"), ("mesh_to", "finer")):
            out[name].attrs = {"long_name": f"{which} mesh value of the step (of the axis mesh_axis)",
                               "units_from": "mesh_units"}
    last = [int(np.flatnonzero(out.mesh_dim.values == dim)[-1]) for dim in mesh_dims]
    final = out.relative_change.isel(mesh_step=last)
    meets = (final < tolerance).all("mesh_step")  # NaN compares False
    out["meets_tolerance"] = meets.assign_attrs(
        long_name=f"the finest mesh meets the tolerance: relative change of the last step below {tolerance:g}",
        units="1")
    out["last_relative_change"] = final.max("mesh_step", skipna=False).assign_attrs(
        long_name="relative change of the last step (largest over the mesh dimensions)", units="1")
    finest = {axis: _plain(ds[axis].values[-1]) for axis in mesh_dims.values()}
    out.attrs.update({
        "mesh_dims": json.dumps(list(mesh_dims)),
        "mesh_axes": json.dumps(list(mesh_dims.values())),
        "finest_mesh": json.dumps(finest),
        "tolerance": float(tolerance),
        "round_off": round_off,
        "meets_tolerance": bool(meets.all()),
        "description": __doc__.split("\n\n")[1].replace("\n", " ").strip(),
    })
    return out


def _plain(value: Any) -> Any:
    return np.asarray(value).item()


def _fmt_mesh(axis: str, value: Any, units: str) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{axis} = {text}" + (f" {units}" if units and units != "1" else "")


def verdict_line(report: xr.Dataset, worst: int = 3) -> str:
    """One line: whether the finest mesh of the study meets the tolerance, for how many
    quantities, and the worst of them with their last relative change."""
    tol = report.attrs["tolerance"]
    finest = json.loads(report.attrs["finest_mesh"])
    units = {str(a): str(u) for a, u in zip(report.mesh_axis.values, report.mesh_units.values)}
    mesh = ", ".join(_fmt_mesh(a, v, units.get(a, "")) for a, v in finest.items())
    names = [str(q) for q in report.quantity.values]
    last = report.last_relative_change.values
    meets = report.meets_tolerance.values
    n_bad = int((~meets).sum())
    compared = [i for i in range(len(names)) if not np.isnan(last[i])]  # inf: a change from 0 to non-zero
    if n_bad == 0:
        top = max(compared, key=lambda i: last[i]) if compared else None
        largest = f"; largest last change {names[top]} {last[top]:.2g}" if top is not None else ""
        return (f"mesh convergence: the finest mesh ({mesh}) meets the tolerance {tol:g} for all {len(names)} "
                f"quantities{largest}")
    failing = sorted((i for i in compared if not meets[i]), key=lambda i: -last[i])
    shown = ", ".join(f"{names[i]} {last[i]:.2g}" for i in failing[:worst])
    more = f" (+{len(failing) - worst} more)" if len(failing) > worst else ""
    unknown = [names[i] for i in range(len(names)) if np.isnan(last[i])]
    unk = (f"; not compared (no point finite at both meshes): {', '.join(unknown[:worst])}"
           + (f" (+{len(unknown) - worst} more)" if len(unknown) > worst else "")) if unknown else ""
    return (f"mesh convergence: the finest mesh ({mesh}) does NOT meet the tolerance {tol:g} for {n_bad} of "
            f"{len(names)} quantities; worst (relative change of the last step): {shown or '-'}{more}{unk}")


def report_text(report: xr.Dataset) -> str:
    """:func:`verdict_line`, then a table of every quantity's relative change per step."""
    lines = [verdict_line(report), ""]
    steps = [f"{d}:{_num(a)}->{_num(b)}" for d, a, b in zip(report.mesh_axis.values, report.mesh_from.values,
                                                             report.mesh_to.values)]
    width = max(len(str(q)) for q in report.quantity.values)
    lines.append(f"{'quantity':<{width}}  {'meets':>5}  " + "  ".join(f"{s:>14}" for s in steps)
                 + "  ignored points (last step)")
    for i, q in enumerate(report.quantity.values):
        row = report.isel(quantity=i)
        cells = []
        for j in range(report.sizes["mesh_step"]):
            r = float(row.relative_change.values[j])
            cells.append("round-off" if row.zero_to_round_off.values[j] else f"{r:.3g}")
        n_ign = int(row.n_ignored.values[-1])
        n_all = n_ign + int(row.n_compared.values[-1])
        lines.append(f"{q!s:<{width}}  {'yes' if row.meets_tolerance.item() else 'NO':>5}  "
                     + "  ".join(f"{c:>14}" for c in cells) + f"  {n_ign} of {n_all}")
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return f"{x:g}"
