"""Compare two stores variable by variable: are they the same bits, and if not, by how much
do they differ?  ``magcore compare A.zarr B.zarr`` prints it; used to check that a refactor or
an interrupted run kept the results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class VariableDifference:
    """How one variable differs between two stores.

    ``state``: "identical" (same shape, same bits, NaN in the same places, same attributes),
    "attributes" (same bits, but attributes such as units or long_name differ), "entries" (a
    non-float variable with different entries; ``detail`` counts them), "only in A",
    "only in B", "shape" (different dims or sizes), "nan pattern" (NaN in different places) or
    "values"; for "values", the largest absolute difference and the largest difference relative
    to the variable's largest magnitude in A (0 and 0 when only the signs of zeros differ).
    """

    name: str
    state: str
    max_abs: float = 0.0
    max_rel: float = 0.0
    detail: str = ""

    def line(self) -> str:
        if self.state == "entries":
            return f"{self.name:<45} differs: {self.detail}"
        if self.state == "attributes":
            return f"{self.name:<45} same values, attributes differ: {self.detail}"
        if self.state == "values" and self.max_abs == 0:
            return f"{self.name:<45} differs only in the sign of zeros (-0.0 vs 0.0)"
        if self.state == "values":
            return f"{self.name:<45} differs: max |A-B| = {self.max_abs:.3g}, relative to max |A| {self.max_rel:.3g}"
        return f"{self.name:<45} {self.state}"


def _difference(name: str, a: xr.DataArray, b: xr.DataArray) -> VariableDifference:
    if a.dims != b.dims or a.shape != b.shape:
        return VariableDifference(name, "shape")
    x, y = np.asarray(a.values), np.asarray(b.values)
    if x.dtype.kind not in "fc":
        if np.array_equal(x, y):
            return VariableDifference(name, "identical")
        return VariableDifference(name, "entries", detail=f"{int((x != y).sum())} of {x.size} entries differ")
    nx, ny = np.isnan(x), np.isnan(y)
    if not np.array_equal(nx, ny):
        return VariableDifference(name, "nan pattern")
    ok = ~nx
    if np.array_equal(x[ok], y[ok]) and np.array_equal(np.signbit(x[ok]), np.signbit(y[ok])):
        return VariableDifference(name, "identical")
    diff = np.abs(x[ok] - y[ok])
    scale = np.max(np.abs(x[ok])) if ok.any() else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    return VariableDifference(name, "values", max_abs, max_abs / scale if scale > 0 else float("inf"))


def compare_stores(a: str | Path, b: str | Path) -> list[VariableDifference]:
    """Every data variable and coordinate of the stores ``a`` and ``b``, compared."""
    da, db = xr.open_zarr(a), xr.open_zarr(b)
    names = sorted(set(da.variables) | set(db.variables))
    out = []
    for name in names:
        if name not in db.variables:
            out.append(VariableDifference(name, "only in A"))
        elif name not in da.variables:
            out.append(VariableDifference(name, "only in B"))
        else:
            diff = _difference(name, da[name], db[name])
            if diff.state == "identical" and da[name].attrs != db[name].attrs:
                keys = sorted(k for k in set(da[name].attrs) | set(db[name].attrs)
                              if str(da[name].attrs.get(k)) != str(db[name].attrs.get(k)))
                diff = VariableDifference(name, "attributes", detail=", ".join(keys))
            out.append(diff)
    return out


def report(a: str | Path, b: str | Path, *, show_identical: bool = False) -> tuple[str, bool]:
    """Text report of :func:`compare_stores` and whether the stores hold the same bits."""
    diffs = compare_stores(a, b)
    same = all(d.state == "identical" for d in diffs)
    n_same = sum(d.state == "identical" for d in diffs)
    lines = [f"{a} vs {b}: {n_same} of {len(diffs)} variables identical"]
    lines += [d.line() for d in diffs if show_identical or d.state != "identical"]
    return "\n".join(lines), same
