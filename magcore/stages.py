"""Entry points of the workflow stages: one call per Snakemake rule.

Each takes the resolved configuration and paths, builds the study's typed settings
(:class:`magcore.settings.StudySettings`) once, computes with the library and writes one
output; the ``cfg`` dict itself is used only for provenance (the stored config, the
fingerprints, the check that upstream stores come from the same config sections).  None of them depends on Snakemake, so they can be run and tested on their own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from distributed.diagnostics.plugin import WorkerPlugin

from .bands import (
    FERMI_WINDOW_HALF_WIDTH,
    FERMI_WINDOW_MAX_SPACING,
    directions_per_chunk,
    energies,
    fermi_level_summary,
    gap_closings_between_grid_points,
    magnetizations,
    mesh_energies,
    midgap_chemical_potential,
    minimum_direct_gap,
)
from .cluster import dask_client_from_config
from .electrons import Electrons
from .engine import stage_checkpoints
from .engine.progress import Progress, WarningSummary
from .fingerprint import fingerprint, hash_files_once, input_file_hashes
from .settings import StudySettings
from .sphere import sphere_map, unit_vectors
from .store import is_complete, now, open_store, provenance, study_config, write_store
from .units import canonical

log = logging.getLogger(__name__)

FERMI_LEVEL_KEYS = ("mesh_energies_finite", "fermi_surface", "mu_outside_bands", "fermi_window_spacing",
                    "fermi_surface_resolved")
"""Variables of bands.zarr that the sphere stage passes on (:func:`magcore.sphere.sphere_map`)."""


def _check_same_study(store: xr.Dataset, cfg: dict[str, Any], path: Path, sections: tuple[str, ...],
                      model) -> None:
    """An upstream store must come from the same config ``sections``, the same content of the
    model's files (a model file edited after the store was written is caught) and the same
    definition of the model (:meth:`~magcore.models.base.Model.fingerprint`: e.g. a material
    table corrected in the library)."""
    stored = study_config(store)
    for key in sections:
        if stored.get(key) != cfg.get(key):
            raise ValueError(f"{path} was made with a different '{key}' section "
                             f"({stored.get(key)!r}) than this config ({cfg.get(key)!r}); rerun its stage")
    theirs = json.loads(store.attrs.get("input_files", "{}"))
    mine = input_file_hashes(cfg, model_only=True)
    changed = sorted(p for p, digest in mine.items() if theirs.get(p) != digest)
    if changed:
        raise ValueError(f"{path} was made from other contents of {', '.join(changed)}; rerun its stage")
    theirs = store.attrs.get("model_fingerprint", "")
    if theirs and theirs != model.fingerprint():
        raise ValueError(f"{path} was made from another definition of the model {model.name} (model fingerprint "
                         f"{theirs[:12]}, now {model.fingerprint()[:12]}); rerun its stage")


def band_path(model, m_ref: np.ndarray, n_points: int, extent: float) -> tuple[np.ndarray, np.ndarray, list, np.ndarray]:
    """k points along the model's path for each reference magnetization.

    Lattice models: straight segments between the fractional corners of
    ``model.high_symmetry_path()``, points shared out by segment length.  Continuum models: the
    corners are scaled by ``extent`` and shifted to ``model.k_center(m)``.
    Returns ``(k (R, n, dim), distance (n,), labels, tick positions)``.
    """
    labels, corners = zip(*model.high_symmetry_path())
    corners = np.asarray(corners, dtype=float)
    if model.domain == "lattice":
        corners = corners @ model.reciprocal_vectors()
    else:
        corners = extent * corners
    seg = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    ticks = np.concatenate([[0.0], np.cumsum(seg)])
    dist = np.linspace(0.0, ticks[-1], n_points)
    k = np.stack([np.interp(dist, ticks, corners[:, i]) for i in range(model.dim)], axis=-1)
    if model.domain == "lattice":
        k_all = np.broadcast_to(k, (len(m_ref),) + k.shape)
    else:
        k_all = model.k_center(m_ref)[:, None, :] + k[None]
    return np.array(k_all), dist, list(labels), ticks


def _occupied_berry_curvature_k(model, k: np.ndarray, m_ref: np.ndarray, mu: float,
                                electrons: Electrons) -> np.ndarray:
    """Occupied Omega_{k_i k_j}(k) = sum_n f_n Omega^n_{k_i k_j} (eq. 2.6) at the reference
    directions, (R, K, dim, dim); NaN (with a warning) at k-points with near-degenerate pairs."""
    from .kernels import occupied_berry_curvature_map

    omega, bad = occupied_berry_curvature_map(model, k, m_ref[:, None, :], mu, temperature=electrons.temperature,
                                              params="kk", degeneracy_tol=electrons.degeneracy_tol)
    if bad.any():
        warnings.warn(f"Berry curvature in k: {int(bad.sum())} of {bad.size} mesh points at the reference "
                      f"directions have pairs closer than {electrons.degeneracy_tol:g}; NaN there", RuntimeWarning,
                      stacklevel=2)
    return np.where(bad[..., None, None], np.nan, omega)


@contextlib.contextmanager
def _dask_client(compute, threads: int, mem_mb: int | None, client=None):
    """``client`` if one is open, else the cluster of the ``compute`` settings."""
    if client is not None:
        yield client
        return
    with dask_client_from_config(compute, threads, mem_mb) as client:
        forward_worker_logs(client)
        yield client


class _WorkerLogLevel(WorkerPlugin):
    """Worker plugin: magcore's INFO records are handled in the worker (and forwarded), not
    passed on to the worker's own stderr; Python warnings raised in the worker's tasks become
    records of ``magcore.warnings`` (one line each, forwarded as well), so they reach the
    stage's log and its warning summary."""

    def setup(self, worker) -> None:
        logger = logging.getLogger("magcore")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        warnings.showwarning = _warnings_to("magcore.warnings")


def forward_worker_logs(client) -> None:
    """magcore's log records from the Dask workers (numba compilation, LLG progress, warnings
    raised in tasks) go to this process's log."""
    if client is None:
        return
    from . import _numba  # noqa: F401  (its filter passes the workers' compile announcement once)

    client.register_plugin(_WorkerLogLevel(), name="magcore-log-level")
    client.forward_logging("magcore", level=logging.INFO)


def _stage(run):
    """A stage entry point: its input files are hashed once (:func:`magcore.fingerprint.hash_files_once`)."""
    @functools.wraps(run)
    def stage(*args, **kwargs):
        with hash_files_once():
            return run(*args, **kwargs)
    return stage


# -- the bands stage, step by step ----------------------------------------------------------------

def _chemical_potential(model, m: np.ndarray, mesh, electrons: Electrons, gap_chunk: int) -> float:
    """mu: mid-gap over the mesh and the sphere grid ``m`` for a band filling, else the configured one."""
    filling = electrons.filling
    if filling is None:
        return electrons.chemical_potential
    mu, top, bottom = midgap_chemical_potential(model, m, mesh, filling, chunk=gap_chunk)
    log.info("bands: filling %d -> mu = %.6g (gap from %.6g to %.6g)", filling, mu, top, bottom)
    return mu


def _gap_map(model, m: np.ndarray, shape: tuple[int, int], mesh, mu: float, electrons: Electrons,
             gap_chunk: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The minimum direct gap at mu (above the filled bands for a filling) at every direction
    ``m`` of the grid, where it is smallest in k, and where mu sits in the bands
    (:func:`magcore.bands.fermi_level_summary`), ``gap_chunk`` directions at a time."""
    filling = electrons.filling
    gaps, kmins, levels = [], [], []
    progress = Progress("bands: gap map", len(m), unit="directions")
    for s in range(0, len(m), gap_chunk):
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by _warn_about_gap_map
            e_chunk = mesh_energies(model, m[s:s + gap_chunk], mesh.points)
        g, kmin = minimum_direct_gap(model, m[s:s + gap_chunk], mesh.points, mu if filling is None else None,
                                     filling=filling, energies_on_mesh=e_chunk)
        gaps.append(g)
        kmins.append(kmin)
        levels.append(fermi_level_summary(e_chunk, mu, electrons.fermi_surface_temperature))
        progress.update(min(s + gap_chunk, len(m)))
    gap = np.concatenate(gaps).reshape(shape)
    kmin = np.concatenate(kmins).reshape(shape + (model.dim,))
    level = {key: np.concatenate([p[key] for p in levels]).reshape(shape) for key in levels[0]}
    return gap, kmin, level


def _warn_about_gap_map(gap: np.ndarray, closed: np.ndarray, between: np.ndarray, level: dict[str, np.ndarray],
                        mu: float, gap_tolerance: float, fermi_temperature: float) -> None:
    """Warnings for gap closings, non-finite mesh energies and mu outside the bands; the Fermi
    surface in the log."""
    if closed.any():
        warnings.warn(f"the gap at mu closes (< {gap_tolerance:g}) at or next to "
                      f"{int(closed.sum())} of {closed.size} magnetization directions "
                      f"({int((between & ~(gap < gap_tolerance)).sum())} of them next to a closing "
                      "between grid points)", RuntimeWarning, stacklevel=3)
    bad = ~level["mesh_energies_finite"]
    if bad.any():
        warnings.warn(f"band energies on the mesh are not finite (overflow) at {int(bad.sum())} of {bad.size} "
                      "magnetization directions: check the model parameters; their gap is NaN",
                      RuntimeWarning, stacklevel=3)
    outside = level["mu_outside_bands"]
    if outside.any():
        warnings.warn(f"mu = {mu:.6g} lies outside all bands on the mesh at {int(outside.sum())} of "
                      f"{outside.size} magnetization directions: every state there is filled or empty",
                      RuntimeWarning, stacklevel=3)
    unresolved = level["fermi_surface"] & ~level["fermi_surface_resolved"]
    log.info("bands: Fermi surface at %d of %d directions (unresolved at T_fs = %g: %d)",
             int(level["fermi_surface"].sum()), level["fermi_surface"].size, fermi_temperature, int(unresolved.sum()))


def _reference_bands(model, mesh, settings: StudySettings, mu: float) -> dict[str, Any]:
    """Bands on the k path and on the mesh, and the occupied Berry curvature on the mesh, at the
    reference directions."""
    ref = settings.bands.reference_angles()
    m_ref = magnetizations(ref[:, 0], ref[:, 1], settings.magnitude)
    k_path, dist, labels, ticks = band_path(model, m_ref, settings.bands.path_points, settings.bands.path_extent)
    center = model.k_center(m_ref)  # (R, dim)
    k_mesh = center[:, None, :] + mesh.points[None]
    return {"angles": ref, "k_path": k_path, "distance": dist, "labels": labels, "ticks": ticks, "center": center,
            "energy_path": energies(model, k_path, m_ref[:, None, :]),
            "energy_mesh": energies(model, k_mesh, m_ref[:, None, :]),
            "berry_curvature_k": _occupied_berry_curvature_k(model, k_mesh, m_ref, mu, settings.electrons)}


def _bands_dataset(model, mesh, settings: StudySettings, mu: float, theta: np.ndarray, phi: np.ndarray,
                   gap: np.ndarray, kmin: np.ndarray, nearby: np.ndarray, closed: np.ndarray,
                   level: dict[str, np.ndarray], ref: dict[str, Any]) -> xr.Dataset:
    """The bands store's variables, coordinates and attributes."""
    filling = settings.electrons.filling
    t_fs = settings.electrons.fermi_surface_temperature
    kdims = np.array(["x", "y", "z", "w"][: model.dim], dtype=object)
    E = canonical(model.energy_unit)
    inv_L = canonical(f"{model.length_unit}^-1")
    mesh_note = ("relative to the cutoff centre k0(m)" if model.domain == "continuum" else "Monkhorst-Pack, absolute")
    return xr.Dataset(
        {
            "energy_path": (("direction", "path", "band"), ref["energy_path"],
                            {"long_name": "band energy along the k path", "units": E, "equation": model.equation}),
            "k_path": (("direction", "path", "k_dim"), ref["k_path"],
                       {"long_name": "k on the path", "units": inv_L, "equation": "-"}),
            "energy_mesh": (("direction", "k_point", "band"), ref["energy_mesh"],
                            {"long_name": "band energy on the integration mesh", "units": E, "equation": model.equation}),
            "berry_curvature_k": (("direction", "k_point", "k_dim", "k_dim2"), ref["berry_curvature_k"],
                                  {"long_name": "Berry curvature Omega_{k_i k_j} of the occupied states on the "
                                                "integration mesh (NaN at k-points with near-degenerate pairs)",
                                   "units": canonical(f"{model.length_unit}^2"), "equation": "2.6"}),
            "mesh_k": (("k_point", "k_dim"), mesh.points,
                       {"long_name": f"integration mesh ({mesh_note})", "units": inv_L, "equation": "-"}),
            "mesh_weight": (("k_point",), mesh.weights,
                            {"long_name": "quadrature weight including 1/(2 pi)^d",
                             "units": canonical(f"{model.length_unit}^-{model.dim}"), "equation": "-"}),
            "k_center": (("direction", "k_dim"), ref["center"],
                         {"long_name": "cutoff centre k0(m) at the reference directions", "units": inv_L,
                          "equation": "-"}),
            "min_gap": (("theta", "phi"), gap,
                        {"long_name": "minimum over k of the direct gap at the chemical potential",
                         "units": E, "equation": "-"}),
            "k_min_gap": (("theta", "phi", "k_dim"), kmin,
                          {"long_name": "k where the direct gap is smallest", "units": inv_L, "equation": "-"}),
            "min_gap_nearby": (("theta", "phi"), nearby,
                               {"long_name": "smallest direct gap at mu found at this direction or between it and "
                                             "its grid neighbours (bounded minimisation between grid rows/columns)",
                                "units": E, "equation": "-"}),
            "gap_closed": (("theta", "phi"), closed,
                           {"long_name": "min_gap below electrons.gap_tolerance, or a gap closing between this "
                                         "direction and a grid neighbour", "units": "1", "equation": "-"}),
            "mesh_energies_finite": (("theta", "phi"), level["mesh_energies_finite"],
                                     {"long_name": "every band energy on the mesh is finite (no overflow)",
                                      "units": "1", "equation": "-"}),
            "fermi_surface": (("theta", "phi"), level["fermi_surface"],
                              {"long_name": "mu inside a band: some band has mesh energies on both sides of mu",
                               "units": "1", "equation": "-"}),
            "mu_outside_bands": (("theta", "phi"), level["mu_outside_bands"],
                                 {"long_name": "every state on the mesh is on the same side of mu (all filled or "
                                               "all empty)", "units": "1", "equation": "-"}),
            "fermi_window_spacing": (("theta", "phi"), level["fermi_window_spacing"],
                                     {"long_name": f"largest spacing of the mesh energies within mu +/- "
                                                   f"{FERMI_WINDOW_HALF_WIDTH:g} T_fs (window ends included), "
                                                   "T_fs = max(temperature, smearing)",
                                      "units": E, "equation": "-", "fermi_surface_temperature": t_fs}),
            "fermi_surface_resolved": (("theta", "phi"), level["fermi_surface_resolved"],
                                       {"long_name": f"T_fs > 0 and fermi_window_spacing <= "
                                                     f"{FERMI_WINDOW_MAX_SPACING:g} T_fs: the mesh resolves the "
                                                     "Fermi window", "units": "1", "equation": "-",
                                        "fermi_surface_temperature": t_fs}),
            "chemical_potential": ((), mu, {"long_name": "chemical potential mu", "units": E, "equation": "-",
                                            "source": "filling" if filling is not None else "config"}),
        },
        coords={
            "theta": ("theta", theta, {"long_name": "polar angle of m", "units": "rad"}),
            "phi": ("phi", phi, {"long_name": "azimuthal angle of m", "units": "rad"}),
            "direction_theta": ("direction", ref["angles"][:, 0],
                                {"long_name": "polar angle of the reference m", "units": "rad"}),
            "direction_phi": ("direction", ref["angles"][:, 1],
                              {"long_name": "azimuthal angle of the reference m", "units": "rad"}),
            "path": ("path", ref["distance"], {"long_name": "distance along the k path", "units": inv_L}),
            "path_tick": ("path_tick", ref["ticks"], {"long_name": "distance of the path corners", "units": inv_L}),
            "path_label": ("path_tick", np.array(ref["labels"], dtype=object),
                           {"long_name": "path corner labels", "units": "1"}),
            "band": ("band", np.arange(model.n_bands), {"long_name": "band index (ascending energy)", "units": "1"}),
            "k_dim": ("k_dim", kdims, {"long_name": "k component", "units": "1"}),
            "k_dim2": ("k_dim2", kdims, {"long_name": "second k component", "units": "1"}),
        },
        attrs={"model": model.name, "model_parameters": dict(model.params),
               "model_material": str(getattr(model, "material", "")),
               "energy_unit": E, "length_unit": model.length_unit,
               "filling": -1 if filling is None else filling, "domain": model.domain,
               **(model.store_attrs() if hasattr(model, "store_attrs") else {})},
    )


def bands_dataset(settings: StudySettings, *, gap_chunk: int | None = None) -> tuple[xr.Dataset, Any]:
    """The bands stage's dataset and model for ``settings``: mu (given, or mid-gap for a band
    filling), the gap map over the (theta, phi) grid (minimum direct gap at mu, refined beyond
    the mesh, with closings between grid points), and the bands on the k path and the mesh at
    the reference directions.  ``gap_chunk``: directions diagonalised together on the whole
    mesh (default :func:`magcore.bands.directions_per_chunk`: bounded memory)."""
    model = settings.model.build()
    mesh = settings.mesh.build(model)
    theta, phi = settings.sphere.angles()
    m = settings.magnitude * unit_vectors(theta, phi).reshape(-1, 3)
    if gap_chunk is None:
        gap_chunk = directions_per_chunk(mesh.size, model.n_bands)
    electrons = settings.electrons
    mu = _chemical_potential(model, m, mesh, electrons, gap_chunk)

    log.info("bands: gap map over %d x %d directions, %d k-points", len(theta), len(phi), mesh.size)
    gap, kmin, level = _gap_map(model, m, (len(theta), len(phi)), mesh, mu, electrons, gap_chunk)
    # gap closings between grid rows/columns, found by minimising the gap between the grid points
    between, nearby = gap_closings_between_grid_points(model, theta, phi, gap, mesh.points,
                                                       mu if electrons.filling is None else None,
                                                       filling=electrons.filling, tolerance=settings.gap_tolerance,
                                                       magnitude=settings.magnitude)
    closed = (gap < settings.gap_tolerance) | between
    _warn_about_gap_map(gap, closed, between, level, mu, settings.gap_tolerance, electrons.fermi_surface_temperature)
    ref = _reference_bands(model, mesh, settings, mu)
    ds = _bands_dataset(model, mesh, settings, mu, theta, phi, gap, kmin, nearby, closed, level, ref)
    return ds, model


@_stage
def run_bands(cfg: dict[str, Any], out: str | Path, *, gap_chunk: int | None = None) -> xr.Dataset:
    """Bands stage: :func:`bands_dataset` of the study, written to ``out``."""
    started = now()
    ds, model = bands_dataset(StudySettings.from_config(cfg), gap_chunk=gap_chunk)
    write_store(ds, out, cfg, started, model=model)
    log.info("bands: wrote %s", out)
    return ds


@_stage
def run_sphere(cfg: dict[str, Any], bands_path: str | Path, out: str | Path, *, threads: int = 1,
               mem_mb: int | None = None, client=None, sums: tuple[dict, dict] | None = None) -> xr.Dataset:
    """Sphere stage: chapter-2 coefficient maps over the (theta, phi) grid, with Dask (the
    cluster of the config's ``compute`` settings, or an open ``client``).  ``sums``: the k-sums
    of the grid and the attributes that say how they were made, when a sweep's Fermi scan
    already has them (:mod:`magcore.sweep_scan`)."""
    started = now()
    settings = StudySettings.from_config(cfg)
    bands = open_store(bands_path)
    model = settings.model.build()
    _check_same_study(bands, cfg, Path(bands_path), ("model", "magnetization", "electrons", "mesh", "sphere"), model)
    mesh = settings.mesh.build(model)
    theta, phi = settings.sphere.angles()
    electrons = settings.with_chemical_potential(float(bands["chemical_potential"])).electrons
    comp = settings.compute
    # finished chunks survive an interruption here (not a Snakemake output, so not deleted)
    checkpoints = stage_checkpoints(Path(out).parent / ".checkpoints", "sphere", fingerprint(cfg, model))
    with _dask_client(comp, threads, mem_mb, client) as client:
        ds = sphere_map(model, theta, phi, mesh, electrons, magnitude=settings.magnitude, gamma_f=settings.gamma_f,
                        min_gap=bands["min_gap"].values, gap_tolerance=settings.gap_tolerance,
                        gap_closed=bands["gap_closed"].values,
                        fermi_level={key: bands[key].values for key in FERMI_LEVEL_KEYS} if all(
                            key in bands for key in FERMI_LEVEL_KEYS) else None,
                        client=client, points_per_chunk=comp.points_per_chunk, k_block=comp.k_block,
                        checkpoints=checkpoints, sums=None if sums is None else sums[0])
    if sums is not None:
        ds.attrs.update(sums[1])
    write_store(ds, out, cfg, started, model=model)
    checkpoints.remove()
    log.info("sphere: wrote %s", out)
    return ds


@_stage
def run_texture(cfg: dict[str, Any], bands_path: str | Path, out: str | Path, *, threads: int = 1,
                mem_mb: int | None = None, client=None) -> xr.Dataset:
    """Texture stage: spin densities, DMI and kappa across the configured domain walls (one
    ``wall`` entry each), and the second Chern number of a full rotation of the wall (Dask as
    in :func:`run_sphere`)."""
    from .texture import DomainWall
    from .wavepacket import wall_response, wall_rotation_second_chern

    started = now()
    settings = StudySettings.from_config(cfg)
    bands = open_store(bands_path)
    model = settings.model.build()
    _check_same_study(bands, cfg, Path(bands_path), ("model", "magnetization", "electrons", "mesh"), model)
    mesh = settings.mesh.build(model)
    tex, comp = settings.texture, settings.compute
    electrons = settings.with_chemical_potential(float(bands["chemical_potential"])).electrons
    mu = electrons.chemical_potential
    y = tex.positions()
    parts, checkpoints = [], []
    with _dask_client(comp, threads, mem_mb, client) as client:
        for kind in tex.walls:
            wall = (DomainWall.bloch if kind == "bloch" else DomainWall.neel)(
                tex.width, profile=tex.profile, magnitude=settings.magnitude)
            log.info("texture: %s wall, %d positions, %d k-points", kind, len(y), mesh.size)
            ck = stage_checkpoints(Path(out).parent / ".checkpoints", "texture", fingerprint(cfg, model), f"-{kind}")
            parts.append(wall_response(model, wall, y, mesh, chemical_potential=mu, filling=electrons.filling,
                                       temperature=electrons.temperature,
                                       degeneracy_tol=electrons.degeneracy_tol,
                                       fd_step=tex.fd_step, client=client,
                                       points_per_chunk=comp.wall_points_per_chunk, k_block=comp.k_block,
                                       checkpoints=ck))
            checkpoints.append(ck)
    ds = xr.concat(parts, dim="wall", combine_attrs="drop_conflicts")
    ds = ds.assign_coords(wall=("wall", np.array(tex.walls, dtype=object),
                                {"long_name": "wall type (easy axis z, normal y)", "units": "1"}))
    if electrons.filling is not None:
        n_t, n_p = tex.rotation_grid
        c2 = wall_rotation_second_chern(model, mesh, electrons.filling, n_theta=n_t, n_phi=n_p,
                                        magnitude=settings.magnitude, chemical_potential=mu,
                                        k_block=comp.k_block)
        ds["wall_rotation_second_chern"] = ((), c2["C2_nonabelian"], {
            "long_name": "second Chern number of a full 2 pi rotation of the wall (occupied subspace)",
            "units": "1", "equation": "3.84-3.85"})
        ds["wall_rotation_second_chern_abelian"] = ((), c2["C2_abelian"], {
            "long_name": "the same with the per-band (Abelian) second Chern form summed over filled bands",
            "units": "1", "equation": "3.84-3.85"})
        log.info("texture: wall-rotation C2 = %.3g (per-band form %.3g)", c2["C2_nonabelian"], c2["C2_abelian"])
    write_store(ds, out, cfg, started, model=model)
    for ck in checkpoints:
        ck.remove()
    log.info("texture: wrote %s", out)
    return ds


@_stage
def run_llg(cfg: dict[str, Any], sphere_path: str | Path | None, out: str | Path, *, threads: int = 1,
            mem_mb: int | None = None, client=None) -> xr.Dataset:
    """LLG stage: integrate and classify the trajectories of the configured parameter sweep
    (``magcore.llg.sweep_from_config``; terms without their own electric field take the
    study's), driven by the tabulated sphere maps if asked; with Dask (the cluster of the
    config's ``compute`` settings, or an open ``client``)."""
    from .llg import sweep_from_config

    started = now()
    settings = StudySettings.from_config(cfg)
    llg = settings.llg
    sphere, model = None, None
    if llg.use_sphere:
        path = Path(llg.sphere_store or sphere_path)
        if not (path / "zarr.json").exists():
            raise FileNotFoundError(f"llg: sphere store {path} is missing; run the sphere stage or fix llg.sphere_store")
        sphere = open_store(path).load()
        model = settings.model.build()
        if sphere.attrs.get("model_fingerprint", model.fingerprint()) != model.fingerprint() \
                or sphere.attrs.get("model") != model.name or sphere.attrs.get("model_parameters") != dict(model.params):
            raise ValueError(f"llg: {path} is from model {sphere.attrs.get('model')} "
                             f"{sphere.attrs.get('model_parameters')}, not {model.name} {dict(model.params)}")
    checkpoints = stage_checkpoints(Path(out).parent / ".checkpoints", "llg", fingerprint(cfg, model))
    with _dask_client(settings.compute, threads, mem_mb, client) as client:
        ds = sweep_from_config(llg.section, sphere=sphere, client=client, checkpoints=checkpoints)
    write_store(ds, out, cfg, started, model=model)
    checkpoints.remove()
    counts = {name: int((ds.final_class.values == value).sum())
              for value, name in zip(ds.final_class.attrs["flag_values"], ds.final_class.attrs["flag_meanings"].split())}
    log.info("llg: %d trajectories, final states %s; wrote %s", ds.attrs["n_trajectories"], counts, out)
    return ds


def run_llg_figures(cfg: dict[str, Any], llg_path: str | Path, outputs: dict[str, str | Path]) -> None:
    """The llg stage's figures (:func:`magcore.figures_stage.run_llg_figures`)."""
    from .figures_stage import run_llg_figures as run

    run(cfg, llg_path, outputs)


def run_texture_figures(cfg: dict[str, Any], texture_path: str | Path, outputs: dict[str, str | Path]) -> None:
    """Figs. 3.5, 3.7, 3.8, 3.9 (:func:`magcore.figures_stage.run_texture_figures`)."""
    from .figures_stage import run_texture_figures as run

    run(cfg, texture_path, outputs)


def run_figures(cfg: dict[str, Any], bands_path: str | Path, sphere_path: str | Path,
                outputs: dict[str, str | Path]) -> None:
    """The figures stage (:func:`magcore.figures_stage.run_figures`)."""
    from .figures_stage import run_figures as run

    run(cfg, bands_path, sphere_path, outputs)


def configure_logging(path: str | Path | None = None, level: int = logging.INFO) -> WarningSummary:
    """Log magcore's progress and Python warnings (one line each, ``Category: message``) to
    stderr and, if given, to ``path``; returns the handler that collects the warnings."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path))
    summary = WarningSummary()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s",
                        handlers=handlers, force=True)
    logging.getLogger().addHandler(summary)
    logging.captureWarnings(False)
    warnings.showwarning = _warnings_to("py.warnings")
    import distributed  # noqa: F401  (configures its loggers on import; quieten them after)

    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "matplotlib", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return summary


def _warnings_to(logger: str):
    """A ``warnings.showwarning`` that logs each Python warning as one line ``Category: message``
    on ``logger``, without the source path and line that Python's own display adds."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        logging.getLogger(logger).warning("%s: %s", category.__name__, message)
    return show


@contextlib.contextmanager
def stage_log(path: str | Path | None = None):
    """:func:`configure_logging` for one stage; at its end (also when it fails) the summary of
    the stage's warnings is the last record of the log."""
    summary = configure_logging(path)
    try:
        yield summary
    finally:
        summary.log(log)


def store_path(declared: str | Path) -> Path:
    """The zarr store directory of a Snakemake output/input declared as ``<store>/zarr.json``."""
    declared = Path(declared)
    return declared.parent if declared.name == "zarr.json" else declared


# -- parameter sweeps ------------------------------------------------------------------------------

SWEEP_STAGES = ("bands", "sphere", "texture", "llg")
"""The stages a sweep point runs (texture when enabled), in order."""


def sweep_point_stages(cfg: dict[str, Any]) -> tuple[str, ...]:
    """The stages each point of the sweep in ``cfg`` runs."""
    return tuple(s for s in SWEEP_STAGES if s not in ("texture", "llg") or cfg[s]["enabled"])


def _reusable(path: Path, cfg: dict[str, Any], sections: tuple[str, ...] = ()) -> bool:
    """Whether ``path`` is a complete store of a sweep point made from what determines its
    result: the point's settings (:func:`magcore.sweep.point_id`: everything but the study name,
    folders, compute and figure settings and the llg section), the config ``sections`` named
    (e.g. llg for llg.zarr), the input files, the model definition and the code."""
    from .fingerprint import code_fingerprint, input_file_hashes
    from .sweep import point_id

    if not (path / "zarr.json").exists():
        return False
    try:
        attrs = open_store(path).attrs
        stored = json.loads(attrs["config"])
    except Exception:  # a damaged store is recomputed
        return False
    model = StudySettings.from_config(cfg).model.build()
    return (is_complete(attrs) and point_id(stored) == point_id(cfg)
            and all(stored.get(s) == cfg.get(s) for s in sections)
            and attrs.get("code_fingerprint") == code_fingerprint()
            and attrs.get("model_fingerprint") == model.fingerprint()
            and attrs.get("input_files") == json.dumps(input_file_hashes(cfg), sort_keys=True))


def _run_point_stages(cfg: dict[str, Any], folder: Path, stages: tuple[str, ...], client,
                      sphere_sums: tuple[dict, dict] | None = None) -> int:
    """The single-point stages of ``cfg`` into ``folder`` (stores already made from the same
    fingerprint are kept; the sphere stage from ``sphere_sums`` when given); returns how many
    stages ran."""
    ran = 0
    for stage in stages:
        out = folder / f"{stage}.zarr"
        if _reusable(out, cfg, ("llg",) if stage == "llg" else ()):
            continue
        if stage == "bands":
            run_bands(cfg, out)
        elif stage == "sphere":
            run_sphere(cfg, folder / "bands.zarr", out, client=client, sums=sphere_sums)
        elif stage == "texture":
            run_texture(cfg, folder / "bands.zarr", out, client=client)
        else:
            run_llg(cfg, folder / "sphere.zarr", out, client=client)
        ran += 1
    return ran


def run_sweep_point(cfg: dict[str, Any], point: str, out_dir: str | Path, *, threads: int = 1,
                    mem_mb: int | None = None) -> dict[str, Path]:
    """One job of a sweep: the expensive point with id ``point`` (:mod:`magcore.sweep`).

    Every combination of the cheap (electron-state) axes is a single-point study of its own
    (:func:`magcore.sweep.point_config`), run by the single-point stages into
    ``<out_dir>/cheap/<its id>/`` (kept there, so an interrupted job resumes where it stopped);
    the sphere k-sums of states that differ only in the chemical potential come from one Fermi
    scan (:mod:`magcore.sweep_scan`).  The stores are then stacked along the cheap dimensions
    into ``<out_dir>/<stage>.zarr``.
    Returns those paths."""
    from .sweep import describe_point, point_config, point_id, sweep_from_config
    from .sweep_scan import sphere_sums_by_state
    from .sweep_store import stack_stores

    started = now()
    sweep = sweep_from_config(cfg)
    expensive = {p.id: p for p in sweep.expensive_points(cfg)}
    if point not in expensive:
        raise ValueError(f"sweep point {point!r} is not a point of this sweep")
    p = expensive[point]
    out_dir = Path(out_dir)
    stages = sweep_point_stages(cfg)
    cheap = sweep.cheap_points(cfg)
    configs = [point_config(cfg, {**p.overrides, **c.overrides}) for c in cheap]
    folders = []
    with dask_client_from_config(StudySettings.from_config(point_config(cfg, p.overrides)).compute, threads,
                                 mem_mb) as client:  # one cluster for every electron state of the point
        forward_worker_logs(client)
        # the states still to compute that differ only in mu: one pass over (k, m) for all of them
        todo = {i for i, cfg_c in enumerate(configs)
                if "sphere" in stages and not _reusable(out_dir / "cheap" / point_id(cfg_c) / "sphere.zarr", cfg_c)}
        scanned = sphere_sums_by_state(list(enumerate(configs)), todo, client) if cfg["sweep"]["fermi_scan"] else {}
        for i, c in enumerate(cheap):
            cfg_c = configs[i]
            folder = out_dir / "cheap" / point_id(cfg_c)
            ran = _run_point_stages(cfg_c, folder, stages, client, scanned.get(i))
            log.info("sweep point %s: electron state %d/%d %s (%s)", point, i + 1, len(cheap),
                     describe_point(cfg, c.overrides) or "(the study's electron state)",
                     "computed" if ran else "reused")
            folders.append((c.index, folder))
    dims = sweep.cheap_dims()
    coords = {name: c for name, c in sweep.coords().items() if c[0][0] in dims}
    attrs = {"sweep_point": point, "sweep_point_overrides": describe_point(cfg, p.overrides),
             **provenance(cfg, started)}
    return {stage: stack_stores([(index, folder / f"{stage}.zarr") for index, folder in folders], dims, coords,
                                out_dir / f"{stage}.zarr", attrs) for stage in stages}


def run_sweep_combine(cfg: dict[str, Any], stage: str, points_dir: str | Path, out: str | Path) -> Path:
    """The store of one stage over the whole sweep: the point stores ``<points_dir>/<id>/<stage>.zarr``
    stacked along the expensive dimensions, chunked one point per chunk."""
    from .sweep import sweep_from_config
    from .sweep_store import stack_stores

    started = now()
    sweep = sweep_from_config(cfg)
    points = sweep.expensive_points(cfg)
    dims = sweep.expensive_dims()
    coords = {name: c for name, c in sweep.coords().items() if c[0][0] in dims}
    entries = [(p.index, Path(points_dir) / p.id / f"{stage}.zarr") for p in points]
    attrs = {"sweep_dims": json.dumps(list(sweep.dims())), **provenance(cfg, started)}
    path = stack_stores(entries, dims, coords, out, attrs)
    log.info("sweep: wrote %s (%d points)", out, len(points))
    return path


def run_sweep_llg_figure(cfg: dict[str, Any], llg_path: str | Path, out: str | Path) -> Path:
    """The LLG outcome of a sweep (the fractions of the final-state classes against the sweep
    axis ``figures.sweep.x``; :func:`magcore.figures_sweep_llg.outcome_fractions`)."""
    from . import plots
    from .figures_sweep_llg import outcome_fractions
    from .sweep import sweep_from_config

    settings = StudySettings.from_config(cfg)
    sweep = sweep_from_config(cfg)
    x = settings.figures.sweep["x"] or (sweep.cheap_dims() or sweep.dims()[-1:])[0]
    path = plots.save(outcome_fractions(open_store(llg_path), x), out, settings.figures.dpi)
    log.info("sweep LLG figure: wrote %s", path)
    return path


def run_sweep_figures(cfg: dict[str, Any], sphere_path: str | Path, out: str | Path) -> Path:
    """The figure of a sweep study (``figures.sweep``): chosen quantities of the combined sphere
    store against one sweep axis (:func:`magcore.plots.sweep_lines`)."""
    from . import plots
    from .sweep import sweep_from_config

    settings = StudySettings.from_config(cfg)
    figure = settings.figures.sweep
    sweep = sweep_from_config(cfg)
    x = figure["x"] or (sweep.cheap_dims() or sweep.dims()[-1:])[0]
    sphere = open_store(sphere_path)
    panels = [(q["variable"], dict(q.get("select", {}))) for q in figure["quantities"]]
    for name, select in panels:
        for dim, label in select.items():
            if label not in sphere[dim].values:
                raise ValueError(f"figures.sweep: {name} has no {dim} = {label!r} for this model "
                                 f"(labels {', '.join(map(str, sphere[dim].values))})")
    direction = tuple(np.deg2rad(figure["direction_deg"]))
    path = plots.save(plots.sweep_lines(sphere, panels, x, direction), out, settings.figures.dpi)
    log.info("sweep figure: wrote %s", path)
    return path


def run_sweep_convergence(cfg: dict[str, Any], sphere_path: str | Path, out_store: str | Path,
                          out_png: str | Path, out_txt: str | Path) -> xr.Dataset:
    """The mesh-convergence report of a sweep over a mesh key (:mod:`magcore.convergence`): the
    relative change of every sphere-map quantity between successive meshes of the combined
    sphere store, against ``sweep.convergence_tolerance``; written as the store ``out_store``,
    the figure ``out_png`` (:func:`magcore.plots.mesh_convergence`) and ``out_txt`` (the
    verdict line, then a table per quantity)."""
    from . import plots
    from .convergence import convergence_report, mesh_dimensions, report_text, verdict_line
    from .sweep import sweep_from_config

    started = now()
    sweep = sweep_from_config(cfg)
    mesh_dims = mesh_dimensions(sweep) if sweep is not None else {}
    if not mesh_dims:
        raise ValueError("the convergence report needs a sweep axis over a mesh key (mesh.n_k, mesh.k_cutoff, ...)")
    report = convergence_report(open_store(sphere_path), mesh_dims, cfg["sweep"]["convergence_tolerance"])
    write_store(report, out_store, cfg, started)
    plots.save(plots.mesh_convergence(report), out_png, StudySettings.from_config(cfg).figures.dpi)
    Path(out_txt).parent.mkdir(parents=True, exist_ok=True)
    Path(out_txt).write_text(report_text(report))
    log.info("%s", verdict_line(report))
    log.info("convergence: wrote %s, %s, %s", out_store, out_png, out_txt)
    return report
