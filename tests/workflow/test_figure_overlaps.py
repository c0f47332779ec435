"""Every figure of the shipped studies, drawn by the real figure stages from real stores, has no
overlapping text (matplotlib's renderer: the window extent of every drawn Text artist).

The stores are those of the shipped study files (config/*.yaml) with their grids made small
(sphere grid, k mesh, wall positions, LLG sweep axes and end time): the models, the recorded
trajectories, the figure keys and every text the figures write come from the shipped files. The
stages run in this process on one Dask worker; the sweep figure of config/tmd_sweep.yaml is drawn
from a store with that study's sweep axes and figure settings (values synthetic)."""

import copy
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from magcore import figures_stage, plots
from magcore.config import read_study_file, validate
from magcore.figures_common import text_overlaps
from magcore.figures_files import llg_figure_files

pytestmark = pytest.mark.workflow

SMALL = {
    "config.yaml": {"sphere": {"n_theta": 9, "n_phi": 12},
                    "mesh": {"radial_panels": 6, "radial_order": 4, "n_angle": 4},
                    "llg": {"axes": {"theta0": [0.4, 0.45, 0.55], "phi0": [1.3, 1.5, 1.9]}}},
    "wte2.yaml": {"sphere": {"n_theta": 5, "n_phi": 6}, "mesh": {"n_k": 12},
                  "texture": {"n_points": 5, "rotation_grid": [4, 4]}},
    "ti_edge_llg.yaml": {"sphere": {"n_theta": 7, "n_phi": 8},
                         "llg": {"t_end": 100.0, "n_record": 1001,
                                 "axes": {"B_over_K": [-0.1, 0.0, 0.1]}}},
}
FIGURE_KEYS = ("fig2_3", "bands", "gap", "berry_k", "fig2_4", "field_torque")
TEXTURE_KEYS = ("fig3_5", "fig3_7", "fig3_8", "fig3_9")


def merge(base, extra):
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


@pytest.fixture(scope="module")
def drawn(tmp_path_factory, repo):
    """{(study, figure key): overlapping text pairs} for every figure of the shipped studies."""
    from magcore.cluster import dask_client
    from magcore.stages import run_bands, run_sphere, run_texture

    found = {}
    save = plots.save

    def checking_save(fig, path, dpi=120):
        """Render (not write: the time goes into the check) and list the overlapping text."""
        found[Path(path)] = text_overlaps(fig)
        plots.plt.close(fig)
        return path

    plots.save = checking_save
    try:
        with dask_client(1) as client:
            for name, small in SMALL.items():
                work = tmp_path_factory.mktemp(name.split(".")[0])
                cfg = validate(merge(read_study_file(repo / "config" / name), small))
                study = work / cfg["study"]
                run_bands(cfg, study / "bands.zarr")
                run_sphere(cfg, study / "bands.zarr", study / "sphere.zarr", client=client)
                figs = study / "figures"
                figures_stage.run_figures(cfg, study / "bands.zarr", study / "sphere.zarr",
                                          {k: figs / f"{k}.png" for k in FIGURE_KEYS})
                if cfg["texture"]["enabled"]:
                    run_texture(cfg, study / "bands.zarr", study / "texture.zarr", client=client)
                    figures_stage.run_texture_figures(cfg, study / "texture.zarr",
                                                      {k: figs / f"{k}.png" for k in TEXTURE_KEYS})
                if cfg["llg"]["enabled"]:
                    llg_store(cfg, study / "sphere.zarr", study / "llg.zarr", client)
                    figures_stage.run_llg_figures(cfg, study / "llg.zarr", llg_figure_files(cfg["llg"]["record"], figs))
        sweep = validate(read_study_file(repo / "config" / "tmd_sweep.yaml"))
        checking_save(sweep_figure(sweep), tmp_path_factory.mktemp("sweep") / "sweep_lines.png")
    finally:
        plots.save = save
    return found


def llg_store(cfg, sphere_path, out, client):
    """The llg stage's store (:func:`magcore.stages.run_llg`) on the open Dask client."""
    from magcore.llg import sweep_from_config
    from magcore.settings import StudySettings
    from magcore.store import now, open_store, write_store

    started = now()
    settings = StudySettings.from_config(cfg)
    sphere = open_store(sphere_path).load() if settings.llg.use_sphere else None
    model = settings.model.build() if settings.llg.use_sphere else None
    write_store(sweep_from_config(settings.llg.section, sphere=sphere, client=client), out, cfg, started, model=model)


def sweep_figure(cfg):
    """The sweep figure of a sweep study, from a store with its sweep axes and figure panels."""
    axes = cfg["sweep"]["axes"]
    coords = {}
    for name, spec in axes.items():
        values = spec["values"] if "values" in spec else np.linspace(spec["start"], spec["stop"], spec["num"])
        coords[name] = (name, np.asarray(values), {"units": "eV" if name in ("J", "chemical_potential") else "1",
                                                   "long_name": name.replace("_", " ")})
    sweep_dims = list(axes)
    theta = np.linspace(0, np.pi, cfg["sphere"]["n_theta"])
    phi = np.linspace(0, 2 * np.pi, cfg["sphere"]["n_phi"], endpoint=False)
    shape = tuple(len(coords[d][1]) for d in sweep_dims) + (len(theta), len(phi), 3, 2)
    rng = np.random.default_rng(0)
    data = {}
    for q in cfg["figures"]["sweep"]["quantities"]:
        dims = (*sweep_dims, "theta", "phi", "component", "component2" if q["variable"] == "damping" else "field")
        data[q["variable"]] = (dims, 1e-3 * rng.normal(size=shape[:-1] + (3 if "component2" in dims else 2,)),
                               {"units": "eV Angstrom^-2 / (eV Angstrom^-1)"})
    import json

    ds = xr.Dataset(data, coords={**coords, "theta": theta, "phi": phi, "component": ["x", "y", "z"],
                                  "component2": ["x", "y", "z"], "field": ["x", "y"]},
                    attrs={"sweep_dims": json.dumps(sweep_dims)})
    fig = cfg["figures"]["sweep"]
    panels = [(q["variable"], dict(q.get("select", {}))) for q in fig["quantities"]]
    return plots.sweep_lines(ds, panels, fig["x"], tuple(np.deg2rad(fig["direction_deg"])))


def test_every_figure_of_the_shipped_studies_is_drawn(drawn):
    names = {p.name for p in drawn}
    for key in (*FIGURE_KEYS, *TEXTURE_KEYS, "fig2_6", "fig2_8", "fig2_9", "fig2_12", "fig2_13"):
        assert any(n.startswith(key) for n in names), key
    assert "llg_trajectories.png" in names and "llg_phase_diagram.png" in names and "sweep_lines.png" in names


def test_no_text_of_any_shipped_figure_overlaps_another(drawn):
    bad = {f"{p.parent.parent.name}/{p.name}": pairs[:3] for p, pairs in drawn.items() if pairs}
    assert bad == {}
