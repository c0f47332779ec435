"""The figure stages of the workflow: every figure regenerated from the stored data.

Each function takes the study config, the store(s) and ``outputs`` (figure key -> path, the
rule's outputs) and writes every output.  A figure that cannot be drawn from the study (a grid
too small for it, a figure that does not apply to the model) is written as a page that says
why, and the log says so too: the rule's outputs always exist, and nothing is drawn that the
data does not support.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .settings import StudySettings
from .store import open_store

log = logging.getLogger(__name__)

#: the smallest sphere grid the sphere-map figures are drawn for (contours and the theta
#: derivative of G need at least 3 x 3 points; with n_phi < 3 phi is not resolved)
MIN_SPHERE_GRID = (3, 3)


def sphere_grid_too_small(n_theta: int, n_phi: int) -> str | None:
    """Why the sphere-map figures are not drawn on an n_theta x n_phi grid, or None."""
    if n_theta < MIN_SPHERE_GRID[0] or n_phi < MIN_SPHERE_GRID[1]:
        return (f"the sphere grid {n_theta} x {n_phi} (sphere.n_theta x sphere.n_phi) is too small for a map "
                f"over the sphere: at least {MIN_SPHERE_GRID[0]} x {MIN_SPHERE_GRID[1]} points are needed")
    return None


def _save(make: Callable, path, dpi: int, what: str) -> None:
    """Draw with ``make()`` and save; a :class:`NotDrawn` becomes a page that says why."""
    from . import plots

    try:
        fig = make()
    except plots.NotDrawn as reason:
        log.warning("figures: %s not drawn: %s (%s says so)", what, reason, path)
        fig = plots.not_drawn(what, str(reason))
    plots.save(fig, path, dpi)


def run_figures(cfg: dict[str, Any], bands_path: str | Path, sphere_path: str | Path,
                outputs: dict[str, str | Path]) -> None:
    """Figures stage: the sphere maps (Figs. 2.3, 2.4, H^E and torques), the bands, the gap map
    and the Berry curvature in k; the field-driven ones under the study's ``electric_field``."""
    from . import plots

    settings = StudySettings.from_config(cfg)
    bands, sphere = open_store(bands_path), open_store(sphere_path).load()
    E = settings.electric_field
    dpi = settings.figures.dpi
    small = sphere_grid_too_small(sphere.sizes["theta"], sphere.sizes["phi"])

    def sphere_figure(draw):
        def make():
            if small:
                raise plots.NotDrawn(small)
            return draw()
        return make

    _save(sphere_figure(lambda: plots.gyromagnetic_and_free_energy(sphere)), outputs["fig2_3"], dpi,
          "Fig. 2.3 (gamma and G over the sphere)")
    _save(lambda: plots.bands_along_path(bands), outputs["bands"], dpi, "bands along the path")
    _save(sphere_figure(lambda: plots.gap_map(bands)), outputs["gap"], dpi, "gap map")
    _save(lambda: plots.berry_curvature_k(bands), outputs["berry_k"], dpi, "Berry curvature in k")
    def fig2_4():
        reason = plots.hemisphere_split_applies(sphere, E)
        if reason:
            raise plots.NotDrawn(reason)
        return plots.field_driven_dynamics(sphere, E)

    _save(sphere_figure(fig2_4), outputs["fig2_4"], dpi,
          "Fig. 2.4 (hemisphere free energies under E)")
    _save(sphere_figure(lambda: plots.field_and_torque_maps(sphere, E)), outputs["field_torque"], dpi,
          "maps of H^E and of the torques")
    log.info("figures: wrote %s", ", ".join(map(str, outputs.values())))


def run_llg_figures(cfg: dict[str, Any], llg_path: str | Path, outputs: dict[str, str | Path]) -> None:
    """One file per dissertation figure of the recorded trajectories (Figs. 2.6, 2.8, 2.9,
    2.12 and theta(t) of Fig. 2.13), the other recorded trajectories, and the phase diagram
    (:mod:`magcore.figures_llg`)."""
    from . import figures_llg as F

    settings = StudySettings.from_config(cfg)
    ds = open_store(llg_path).load()
    dpi = settings.figures.dpi
    names = [str(n) for n in ds.trajectory.values] if "trajectory" in ds.dims else []
    groups = F.figure_groups(names)
    theta_of = {v: k for k, v in F.THETA_FIGURES.items()}
    for key, path in outputs.items():
        if key == "phase_diagram":
            _save(lambda: F.phase_diagram(ds), path, dpi, "LLG phase diagram")
        elif key in theta_of:
            _save(lambda key=key: F.polar_angle_figure(ds, groups.get(theta_of[key], []), key), path, dpi,
                  f"{key} (theta(t))")
        else:
            _save(lambda key=key: F.trajectories_figure(ds, groups.get(key, []), key), path, dpi,
                  f"{key} (trajectories)")
    log.info("llg figures: wrote %s", ", ".join(map(str, outputs.values())))


def run_texture_figures(cfg: dict[str, Any], texture_path: str | Path, outputs: dict[str, str | Path]) -> None:
    """Figs. 3.5, 3.7 (second-Chern-form part) and 3.8, 3.9 (spin-dipole part) from texture.zarr."""
    from . import plots

    ds = open_store(texture_path).load()
    dpi = StudySettings.from_config(cfg).figures.dpi
    for key, (wall, part) in {"fig3_5": ("bloch", "second_chern"), "fig3_7": ("neel", "second_chern"),
                              "fig3_8": ("bloch", "spin_dipole"), "fig3_9": ("neel", "spin_dipole")}.items():
        if key in outputs:
            _save(lambda wall=wall, part=part: plots.wall_spin_density(ds, wall, part), outputs[key], dpi,
                  f"Fig. {key[3:].replace('_', '.')}")
    log.info("texture figures: wrote %s", ", ".join(map(str, outputs.values())))


