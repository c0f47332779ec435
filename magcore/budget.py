"""Up-front estimates of a study's memory and work, checked against ``compute.limits``.

Every estimate is arithmetic on the resolved configuration and the built model (its dimension,
band count and domain): no k-mesh, sphere grid or sweep grid is built, so a study too large to
run is refused in milliseconds, before any job starts and before any store is written.

Quantities (n bands, d k directions, N mesh points, P = n_theta x n_phi sphere points, R
reference directions, L path points; 8-byte floats, 16-byte complex numbers):

* one batched diagonalisation holds, per (k, m) point, H and its eigenvectors (2 x 16 n^2
  bytes), the energies and their temporaries (3 x 8 n) and k (2 x 8 d): :func:`eig_bytes`;
* bands stage: the k-mesh (points and weights, with the temporaries of its construction), one
  chunk of magnetization directions of the gap map on the whole mesh
  (:func:`magcore.bands.directions_per_chunk`), the whole mesh at the
  reference directions, the path at the reference directions, and the store;
  work P (N + 48 x 5^d) n^2 (mesh, then the pattern-search refinement), again P N n^2 with
  electrons.filling, plus R (N + L) n^2;
* sphere stage: the store, about 300 + 600 d bytes per sphere point (measured), three times
  over while it is assembled and written; one Dask task, points_per_chunk x k_block x n^2 x
  80 bytes (compute.k_block); work P N n^2;
* texture stage: one diagonalisation of the whole mesh (for the mid-gap mu of a filling), one
  block of 2048 k-points at one wall position with the second derivatives ((d + 3)^2 matrices
  of n^2); work walls x n_points x N n^2 x 13 (the point and the 12 finite-difference
  evaluations of kappa), plus the rotation grid's n_t n_p N n^2 (d + 2) with a filling;
* llg stage: T = product of the sweep axes' lengths trajectories, each ~45 stored values
  plus its axis values, twice over while they are gathered; one chunk's tail window
  (chunk_size x tail samples x 5 values); the recorded trajectories (records x n_record x 6
  values).  Work is not estimated (it depends on the dynamics).

The stores of a parameter sweep (the ``sweep`` section, :mod:`magcore.sweep`) are estimated by
:func:`store_bytes` per point and summed by :func:`sweep_store_bytes`: each stage's store as
above, split into the part that depends on the electron state (repeated for every value of the
electron-state axes) and the part that does not (band energies on the path and the mesh).

The estimates are sizes of arrays the code allocates, not measurements of peak memory; they
are meant to refuse what cannot fit, not to predict what will.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Iterable, Mapping

import numpy as np

from .bands import directions_per_chunk

GB = 1e9
FLOAT = 8
COMPLEX = 16
REFINE_ITERATIONS = 48  # pattern-search steps of magcore.bands.minimum_direct_gap
TEXTURE_K_BLOCK = 2048  # k-points per texture task (magcore.wavepacket.wall_response)


@dataclass(frozen=True)
class Factor:
    """A config key an estimate grows with: ``shown`` is how its value is quoted, ``ratio`` how
    far it is beyond its default (the key with the largest ratio is named in the message)."""

    key: str
    shown: str
    ratio: float


@dataclass(frozen=True)
class Estimate:
    """One estimate of a stage: ``kind`` "memory" (``amount`` in bytes) or "work" (``amount``
    in (k-point, magnetization) evaluations x bands^2); ``what`` completes "the <stage> stage
    would ..."."""

    stage: str
    kind: str
    amount: float
    what: str
    factors: tuple[Factor, ...]


def _factor(cfg: Mapping[str, Any], section: str, key: str, default: float) -> Factor:
    value = cfg[section][key]
    return Factor(f"{section}.{key}", str(value), float(value) / default)


def eig_bytes(n_bands: int, dim: int) -> int:
    """Bytes per (k, m) point of a batched diagonalisation (H, eigenvectors, energies, k)."""
    return 2 * COMPLEX * n_bands**2 + 3 * FLOAT * n_bands + 2 * FLOAT * dim


def mesh_size(cfg: Mapping[str, Any], model) -> int:
    """Number of k-points of the integration mesh (magcore.study.mesh_from_config)."""
    mesh = cfg["mesh"]
    if model.domain == "lattice":
        return int(mesh["n_k"]) ** model.dim
    radial = (int(mesh["radial_panels"]) + 1) * int(mesh["radial_order"])
    return 2 * radial if model.dim == 1 else radial * int(mesh["n_angle"])


def mesh_factors(cfg: Mapping[str, Any], model) -> tuple[Factor, ...]:
    """The keys the mesh size grows with."""
    if model.domain == "lattice":
        return (_factor(cfg, "mesh", "n_k", 48),)
    keys = [("radial_panels", 16), ("radial_order", 8)] + ([("n_angle", 8)] if model.dim == 2 else [])
    return tuple(_factor(cfg, "mesh", k, d) for k, d in keys)


def mesh_sample(cfg: Mapping[str, Any], model, max_points: int = 4096) -> np.ndarray:
    """A subset of about ``max_points`` points of the integration mesh (k relative to the
    cutoff centre for continuum models), built without building the mesh: every s-th point
    per direction, always including the outermost radial node.  Its band energies lie within
    those of the whole mesh."""
    mesh = cfg["mesh"]
    dim = model.dim
    if model.domain == "lattice":
        n_k = int(mesh["n_k"])
        per_axis = max(1, int(max_points ** (1 / dim)))
        idx = np.unique(np.linspace(0, n_k - 1, min(n_k, per_axis)).round().astype(np.int64))
        frac = (idx + 0.5) / n_k
        grid = np.stack(np.meshgrid(*([frac] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
        return grid @ model.reciprocal_vectors()
    from .kmesh import graded_radial_rule

    panels, order = int(mesh["radial_panels"]), int(mesh["radial_order"])
    n_radial = (panels + 1) * order
    n_angle = int(mesh["n_angle"]) if dim == 2 else 1
    keep = max(2, max_points // (2 if dim == 1 else min(n_angle, 32)))
    if n_radial <= keep:
        q, _ = graded_radial_rule(float(mesh["k_cutoff"]), panels, order, float(mesh["grading"]))
    else:  # nodes of every s-th panel and the outermost panel (no array of all nodes)
        panel_idx = np.unique(np.append(np.linspace(0, panels, max(1, keep // order)).round(), panels))
        x, _ = np.polynomial.legendre.leggauss(order)
        g, kc = float(mesh["grading"]), float(mesh["k_cutoff"])
        edges = lambda i: (0.0 if i == 0 else kc * g ** (panels - i + 1), kc * g ** (panels - i))  # noqa: E731
        q = np.concatenate([0.5 * (hi - lo) * x + 0.5 * (hi + lo) for lo, hi in map(edges, panel_idx.astype(int))])
    if dim == 1:
        return np.concatenate([-q, q])[:, None]
    a_idx = np.unique(np.linspace(0, n_angle - 1, min(n_angle, 32)).round())
    ang = 2 * np.pi * (a_idx + 0.5) / n_angle
    Q, A = np.meshgrid(q, ang, indexing="ij")
    return np.stack([Q * np.cos(A), Q * np.sin(A)], axis=-1).reshape(-1, 2)


def llg_trajectories(cfg: Mapping[str, Any]) -> tuple[int, tuple[Factor, ...]] | None:
    """(number of trajectories, one Factor per axis) of the llg sweep, the product of the axes'
    lengths: :func:`magcore.llg.sweep.axis_values` for lists, ``num`` for {start, stop, num}
    (without building the linspace).  None if an axis cannot be read (the llg checks say why)."""
    from .llg.sweep import axis_values

    sizes = []
    try:
        for name, spec in cfg["llg"]["axes"].items():
            if isinstance(spec, Mapping) and "num" in spec and "values" not in spec:
                n = int(spec["num"])
            else:
                n = len(axis_values(spec))
            sizes.append((name, n))
    except (TypeError, ValueError, KeyError, NameError, SyntaxError, ArithmeticError):
        return None
    total = prod(n for _, n in sizes)
    return total, tuple(Factor(f"llg.axes.{name}", f"{n} values", n / 10) for name, n in sizes)


def _int(mapping: Any, key: str, default: int) -> int:
    try:
        value = (mapping or {}).get(key, default)
        return int(default if value is None else value)
    except (TypeError, ValueError, AttributeError):
        return default


def estimates(cfg: Mapping[str, Any], model) -> list[Estimate]:
    """Every memory and work estimate of the enabled stages, in stage order."""
    n, d = int(model.n_bands), int(model.dim)
    N = mesh_size(cfg, model)
    P = int(cfg["sphere"]["n_theta"]) * int(cfg["sphere"]["n_phi"])
    R = len(cfg["bands"]["reference_directions_deg"])
    L = int(cfg["bands"]["path_points"])
    eig = eig_bytes(n, d)
    band_factor = Factor("model", f"{cfg['model']['name']!r} with {n} bands", n / 6)
    mesh_f = mesh_factors(cfg, model)
    sphere_f = (_factor(cfg, "sphere", "n_theta", 37), _factor(cfg, "sphere", "n_phi", 72))
    refs_f = Factor("bands.reference_directions_deg", f"{R} directions", R / 3)
    path_f = _factor(cfg, "bands", "path_points", 201)
    filling = cfg["electrons"]["filling"] is not None
    mesh_bytes = 3 * N * (d + 1) * FLOAT
    stores = store_bytes(cfg, model)
    out = [
        Estimate("bands", "memory", mesh_bytes, "hold the k-mesh", mesh_f),
        Estimate("bands", "memory", min(directions_per_chunk(N, n), P) * N * eig,
                 f"diagonalise the whole k-mesh for a chunk of {min(directions_per_chunk(N, n), P)} magnetization "
                 "directions (gap map)", mesh_f + (band_factor,)),
        Estimate("bands", "memory", R * N * eig, "diagonalise the whole k-mesh at the reference directions",
                 mesh_f + (refs_f, band_factor)),
        Estimate("bands", "memory", R * L * eig, "diagonalise the k path", (path_f, refs_f, band_factor)),
        Estimate("bands", "memory", sum(stores["bands"]), "write a store",
                 mesh_f + sphere_f + (path_f, refs_f, band_factor)),
        Estimate("bands", "work", n * n * (P * (N + REFINE_ITERATIONS * 5**d) * (2 if filling else 1) + R * (N + L)),
                 "diagonalise", mesh_f + sphere_f + (path_f, band_factor)),
        Estimate("sphere", "memory", 3 * stores["sphere"][1], "hold its results (with their intermediate copies)",
                 sphere_f),
        Estimate("sphere", "memory", mesh_bytes, "hold the k-mesh", mesh_f),
        Estimate("sphere", "memory",
                 min(int(cfg["compute"]["points_per_chunk"]), P) * min(int(cfg["compute"]["k_block"]), N) * n * n * 80,
                 "give one Dask task (points_per_chunk x k_block points)",
                 (_factor(cfg, "compute", "k_block", 2048), _factor(cfg, "compute", "points_per_chunk", 96),
                  band_factor)),
        Estimate("sphere", "work", P * N * n * n, "evaluate", mesh_f + sphere_f + (band_factor,)),
    ]
    tex = cfg["texture"]
    if tex["enabled"]:
        Y, W = int(tex["n_points"]), len(tex["walls"])
        n_t, n_p = (int(x) for x in tex["rotation_grid"])
        tex_f = (_factor(cfg, "texture", "n_points", 21),
                 Factor("texture.rotation_grid", str(list(tex["rotation_grid"])), n_t * n_p / 96))
        out += [
            Estimate("texture", "memory", stores["texture"][1], "write a store", tex_f[:1]),
            Estimate("texture", "memory", N * eig if filling else 0, "diagonalise the whole k-mesh at one position",
                     mesh_f + (band_factor,)),
            Estimate("texture", "memory", 4 * min(TEXTURE_K_BLOCK, N) * n * n * COMPLEX * (d + 3) ** 2,
                     "hold one block of k-points at one wall position", (band_factor,)),
            Estimate("texture", "work",
                     n * n * N * (W * Y * (13 + (1 if filling else 0)) + (n_t * n_p * (d + 2) if filling else 0)),
                     "evaluate", mesh_f + tex_f + (band_factor,)),
        ]
    llg = cfg["llg"]
    sweep = llg_trajectories(cfg) if llg["enabled"] else None
    if sweep is not None:
        T, axes_f = sweep
        chunk = _int(llg.get("integrator"), "chunk_size", 2048)
        tail = _int(llg.get("tail"), "samples", 1024)
        n_record = int(llg["n_record"])
        records = len(llg.get("record") or {})
        record_f = _factor(cfg, "llg", "n_record", 1001)
        out += [
            Estimate("llg", "memory", 2 * T * (45 + 2 * len(axes_f)) * FLOAT,
                     f"hold the final states of {T:.3g} trajectories", axes_f),
            Estimate("llg", "memory", 2 * min(chunk, T) * tail * 5 * FLOAT,
                     "hold the tail window of one chunk of trajectories",
                     (Factor("llg.integrator.chunk_size", str(chunk), chunk / 2048),
                      Factor("llg.tail.samples", str(tail), tail / 1024))),
            Estimate("llg", "memory", (2 * records * 6 + 1) * n_record * FLOAT,
                     f"hold {records} recorded trajectories", (record_f,)),
        ]
    return out


def store_bytes(cfg: Mapping[str, Any], model) -> dict[str, tuple[int, int]]:
    """Bytes of the store of each stage a sweep point runs (bands, sphere, and texture when
    enabled) as (the part independent of the electron state, the part that depends on it):
    the bands store's energies on the path and the mesh, and its gap map and chemical potential;
    the sphere store, about 300 + 600 d bytes per sphere point (measured); the texture store."""
    n, d = int(model.n_bands), int(model.dim)
    N = mesh_size(cfg, model)
    P = int(cfg["sphere"]["n_theta"]) * int(cfg["sphere"]["n_phi"])
    R = len(cfg["bands"]["reference_directions_deg"])
    L = int(cfg["bands"]["path_points"])
    out = {"bands": (FLOAT * (R * N * n + R * L * (n + d) + N * (d + 1)), FLOAT * P * (d + 2)),
           "sphere": (0, P * (300 + 600 * d))}
    tex = cfg["texture"]
    if tex["enabled"]:
        out["texture"] = (0, FLOAT * len(tex["walls"]) * int(tex["n_points"]) * (3 + 25 * d + 13 * d * d))
    return out


def sweep_store_bytes(point_cfgs: Iterable[Mapping[str, Any]], n_states: int, model) -> dict[str, float]:
    """Bytes per stage of the stores of a sweep once combined: ``point_cfgs`` are the configs
    of its expensive points (:func:`store_bytes` of each), each evaluated at ``n_states``
    electron states (the points of the electron-state axes) which repeat the part of each store
    that depends on them."""
    total: dict[str, float] = {}
    for cfg in point_cfgs:
        for stage, (fixed, per_state) in store_bytes(cfg, model).items():
            total[stage] = total.get(stage, 0.0) + fixed + per_state * n_states
    return total


# Memory per byte of a model file while it is read: measured 8.4 for a 13 MB _hr.dat (token
# lists before the numbers are converted); PyYAML's node and object trees are heavier.
READ_FACTOR = {"hr_dat": 10, "hoppings_file": 50}


def source_files(cfg: Mapping[str, Any]) -> list[Estimate]:
    """Memory to read the files of model.source (before the model is built from them)."""
    import os

    source = cfg["model"]["source"]
    out = []
    if isinstance(source, Mapping):
        for key, factor in READ_FACTOR.items():
            name = source.get(key)
            if isinstance(name, str) and os.path.isfile(name):
                size = os.path.getsize(name)
                out.append(Estimate("model", "memory", factor * size,
                                    f"need about {factor} times its {_gb(size)} to be read",
                                    (Factor(f"model.source.{key}", repr(name), 2.0),)))
    return out


def _gb(x: float) -> str:
    return f"{x / GB:.2g} GB"


def check(cfg: Mapping[str, Any], model=None) -> str | None:
    """The one-line message of the estimate furthest beyond ``compute.limits`` (relative to
    its limit), or None if every estimate is within; without ``model``, only the model's
    files (:func:`source_files`)."""
    limits = cfg["compute"]["limits"]
    worst, worst_ratio = None, 1.0
    for est in source_files(cfg) if model is None else estimates(cfg, model):
        limit = limits["max_memory_gb"] * GB if est.kind == "memory" else limits["max_work"]
        if est.amount / limit > worst_ratio:
            worst, worst_ratio = est, est.amount / limit
    if worst is None:
        return None
    if worst.kind == "memory":
        key, shown_limit = "compute.limits.max_memory_gb", f"{limits['max_memory_gb']:g}"
        what = f"{worst.what}: {_gb(worst.amount)}"
    else:
        key, shown_limit = "compute.limits.max_work", f"{limits['max_work']:g}"
        what = f"{worst.what} {worst.amount:.2g} (k-point, magnetization) pairs x bands^2"
    top = max(worst.factors, key=lambda f: f.ratio)
    if top.ratio <= 1:  # nothing beyond its default: the limit itself is what is small
        top = Factor(key, shown_limit, 1.0)
    keys = [f.key for f in sorted(worst.factors, key=lambda f: -f.ratio) if f.key != "model"]
    reduce = f"reduce {', '.join(keys[:3])} or raise {key}" if keys else f"raise {key}"
    stage = "the file" if worst.stage == "model" else f"the {worst.stage} stage"
    if worst.stage == "model":
        reduce = f"raise {key}"
    return (f"config error: {top.key} = {top.shown}: {stage} would {what} "
            f"(limit {key} = {shown_limit}); {reduce}")
