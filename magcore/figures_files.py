"""The figure files of a study, by key (read by the Snakefile at parse time: standard library only).

LLG figures: recorded points named ``fig<chapter>_<number>_<colour>`` (e.g. ``fig2_9_red``) are
drawn together in one file per dissertation figure, ``fig2_9_llg_trajectories.png``; Fig. 2.13
(the polar angle theta(t) of the trajectories of Fig. 2.12) comes with Fig. 2.12; other recorded
points go to ``llg_trajectories.png``; the phase diagram to ``llg_phase_diagram.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

_FIGURE_NAME = re.compile(r"^(fig(\d+)_(\d+))_(.+)$")
#: dissertation figures drawn from the trajectories of another one: Fig. 2.13 is theta(t) of Fig. 2.12
THETA_FIGURES = {"fig2_12": "fig2_13"}


def figure_groups(record_names) -> dict[str, list[str]]:
    """Recorded points grouped by the dissertation figure in their name (``fig2_9_red`` ->
    ``fig2_9``); points with other names under ``"trajectories"``."""
    groups: dict[str, list[str]] = {}
    for name in record_names:
        match = _FIGURE_NAME.match(str(name))
        groups.setdefault(match.group(1) if match else "trajectories", []).append(str(name))
    return groups


def _figure_order(key: str):
    match = re.match(r"fig(\d+)_(\d+)", key)
    return (int(match.group(1)), int(match.group(2))) if match else (1_000, 0)


def llg_figure_files(record_names, folder) -> dict[str, Path]:
    """The figure files of the llg stage (key -> path): one per dissertation figure named in the
    recorded points (plus Fig. 2.13 with Fig. 2.12), ``llg_trajectories.png`` for the other
    recorded points (also when nothing is recorded, to say so), and ``llg_phase_diagram.png``."""
    folder = Path(folder)
    files: dict[str, Path] = {}
    groups = figure_groups([] if record_names is None else list(record_names))
    for key in sorted((k for k in groups if k != "trajectories"), key=_figure_order):
        files[key] = folder / f"{key}_llg_trajectories.png"
        if key in THETA_FIGURES:
            files[THETA_FIGURES[key]] = folder / f"{THETA_FIGURES[key]}_llg_polar_angle.png"
    if "trajectories" in groups or not groups:
        files["trajectories"] = folder / "llg_trajectories.png"
    files["phase_diagram"] = folder / "llg_phase_diagram.png"
    return files
