"""The LLG outcome of a sweep against a physical parameter: where the trajectories end.

A sweep with the llg stage (``llg.zarr`` with the sweep dimensions, :mod:`magcore.sweep_store`)
classifies, at every sweep point, the trajectories of the ``llg`` section's own axes (initial
directions, fields, ...).  :func:`outcome_fractions` draws, against one sweep axis, the fraction
of those trajectories that end in each final-state class (the store's ``flag_meanings``), one
panel per combination of the other sweep dimensions: a phase diagram in the physical parameters.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from .figures_llg import CLASS_COLOURS, MINIMUM_COLOURS  # noqa: E402
from .plots import units_label  # noqa: E402

MAX_PANELS = 6


def class_fractions(llg: xr.Dataset, sweep_dims: list[str]) -> xr.DataArray:
    """Fraction of the trajectories at each sweep point in each final class: dims
    (``sweep_dims``..., ``final_class``), the class names as coordinate.  A ``final_class`` stored
    once (equal at every point) is broadcast over the sweep."""
    fc = llg.final_class
    names = fc.attrs["flag_meanings"].split()
    values = [int(v) for v in fc.attrs["flag_values"]]
    sizes = {d: llg.sizes[d] for d in sweep_dims}
    fc = fc.broadcast_like(xr.DataArray(np.zeros(tuple(sizes.values())), dims=tuple(sizes),
                                        coords={d: llg[d] for d in sweep_dims}))
    own = [d for d in fc.dims if d not in sweep_dims]
    total = int(np.prod([fc.sizes[d] for d in own])) if own else 1
    parts = [(fc == v).sum(own) / total for v in values]
    return xr.concat(parts, dim=xr.DataArray(names, dims="final_class", name="final_class")).transpose(
        *sweep_dims, "final_class")


def outcome_fractions(llg: xr.Dataset, x: str) -> plt.Figure:
    """Fractions of the final-state classes against the sweep axis ``x`` (one line per class
    that occurs, categorical colours), a panel per combination of the other sweep dimensions
    (at most :data:`MAX_PANELS`; the title gives their values)."""
    dims = json.loads(llg.attrs.get("sweep_dims", llg.attrs.get("stacked_dims", "[]")))
    if x not in dims:
        raise ValueError(f"figures.sweep.x = {x!r} is not a sweep dimension of the llg store ({', '.join(dims)})")
    frac = class_fractions(llg, dims)
    others = [d for d in dims if d != x]
    combos = [{}]
    for d in others:
        combos = [{**c, d: v} for c in combos for v in llg[d].values]
    shown = combos[:MAX_PANELS]
    n_traj = int(np.prod([llg.sizes[d] for d in llg.final_class.dims if d not in dims]) or 1)
    fig, axes = plt.subplots(1, len(shown), figsize=(4.0 * len(shown) + 2.6, 3.6), squeeze=False, sharey=True)
    occurring = [c for c in frac.final_class.values if float(frac.sel(final_class=c).max()) > 0]
    colour = {c: CLASS_COLOURS.get(c, MINIMUM_COLOURS[i % len(MINIMUM_COLOURS)]) for i, c in enumerate(occurring)}
    xs = llg[x]
    for ax, combo in zip(axes[0], shown):
        sel = frac.sel(combo) if combo else frac
        for c in occurring:
            ax.plot(xs.values, sel.sel(final_class=c).values, "o-", color=colour[c], label=c.replace("_", " "), ms=3)
        ax.set_xlabel(units_label(str(xs.attrs.get("long_name", x)), str(xs.attrs.get("units", ""))), fontsize=9)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(", ".join(f"{d} = {_fmt(v)}" for d, v in combo.items()) or "all trajectories", fontsize=9)
    axes[0][0].set_ylabel(f"fraction of the {n_traj} trajectories", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="final state")
    more = f" (first {len(shown)} of {len(combos)} combinations)" if len(combos) > len(shown) else ""
    fig.suptitle(f"LLG final states against {x}{more}", fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
