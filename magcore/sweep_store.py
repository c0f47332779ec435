"""Stores of a parameter sweep: point stores stacked along the sweep dimensions.

:func:`stack_stores` writes one zarr store from many stores of the same stage (one per sweep
point), adding the sweep dimensions in front of every variable that differs between the
points; a variable equal in every point (bit for bit, NaN equal to NaN) is stored once, without
the sweep dimensions.  The store is laid out first (metadata only, chunked one point per chunk
along the sweep dimensions), then filled point by point by region writes, so no more than one
point store is in memory at a time; it is written beside its final name and renamed into place.
Nothing here knows physics: a point store is any dataset whose coordinates agree between the
points.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._faults import hold_for_test
from .store import apply_chunks, chunk_sizes, finish_store_dataset, replace_store, stage_of

log = logging.getLogger(__name__)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f" or a.dtype.kind == "c":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _differing_coordinates(paths: Sequence[Path]) -> list[str]:
    """Coordinates whose values differ between the point stores (e.g. the distance along the k
    path of a lattice-constant sweep): they become variables ``<name>_coordinate`` along the
    sweep dimensions, and their dimension is left without labels."""
    first = xr.open_zarr(paths[0])
    moved = set()
    for path in paths[1:]:
        ds = xr.open_zarr(path)
        for name, coord in first.coords.items():
            if name in moved:
                continue
            if name not in ds.coords or ds[name].shape != coord.shape or not _same(ds[name].values, coord.values):
                moved.add(name)
    return sorted(moved)


def _open(path: Path, moved: Sequence[str]) -> xr.Dataset:
    """A point store, its coordinates ``moved`` turned into variables ``<name>_coordinate``."""
    ds = xr.open_zarr(path)
    for name in moved:
        if name in ds.coords:
            var = ds[name].variable
            ds = ds.drop_vars(name).assign({f"{name}_coordinate": var})
    return ds


def _classify(paths: Sequence[Path], moved: Sequence[str]) -> tuple[list[str], list[str], list[str],
                                                                   dict[str, xr.DataArray]]:
    """(varying, constant, dropped, shapes) of the data variables of the point stores.

    A variable is constant when it is equal in every store; dropped when the same dimension has
    different sizes in two stores (e.g. mesh-sized arrays of a mesh sweep: they cannot be
    stacked).  ``shapes`` gives, per variable, a zero-size template of its fullest form: a store
    may hold a variable without some leading dimensions another store has (a point store keeps
    a variable once when it does not change along that point's own inner sweep), and is then
    broadcast along them."""
    first = _open(paths[0], moved)
    names = list(first.data_vars)
    full = {name: first[name] for name in names}
    varying: set[str] = set()
    dropped: set[str] = set()
    reference = {name: None for name in names}
    for path in paths[1:]:
        ds = _open(path, moved)
        if set(ds.data_vars) != set(names):
            raise ValueError(f"{path}: variables {sorted(set(ds.data_vars) ^ set(names))} are not in every point store")
        for name in names:
            if name in dropped:
                continue
            a, b = full[name], ds[name]
            sizes = dict(a.sizes)
            if any(sizes.get(d, n) != n for d, n in b.sizes.items()):
                dropped.add(name)
                continue
            if b.ndim > a.ndim:
                if a.dims != b.dims[b.ndim - a.ndim:]:
                    dropped.add(name)
                    continue
                full[name] = b
            elif b.ndim < a.ndim and b.dims != a.dims[a.ndim - b.ndim:]:
                dropped.add(name)
                continue
            if name in varying:
                continue
            if b.dims != first[name].dims:
                varying.add(name)
                continue
            if reference[name] is None:
                reference[name] = first[name].values
            if not _same(reference[name], b.values):
                varying.add(name)
                reference[name] = None  # no longer needed
    constant = [n for n in names if n not in varying and n not in dropped]
    return [n for n in names if n in varying], constant, sorted(dropped), full


def stack_stores(
    points: Sequence[tuple[tuple[int, ...], Path]],
    dims: Sequence[str],
    coords: Mapping[str, tuple[tuple[str, ...], Sequence[Any], dict[str, Any]]],
    out: str | Path,
    attrs: Mapping[str, Any],
) -> Path:
    """Write the stores ``points`` (index along ``dims``, path) as one store ``out``.

    ``dims``: the sweep dimensions (their sizes are taken from ``coords``); ``coords``: the
    sweep coordinates, name -> (dims, values, attrs); ``attrs``: the global attributes of the
    result (e.g. provenance).  Every index of the product of ``dims`` must be given once.
    Returns ``out``."""
    out = Path(out)
    dims = tuple(dims)
    sizes = {d: len(coords[d][1]) for d in dims}
    expected = int(np.prod([sizes[d] for d in dims])) if dims else 1
    seen = {tuple(index) for index, _ in points}
    if len(seen) != len(points) or len(points) != expected:
        raise ValueError(f"need one store per point of {sizes}: got {len(points)} ({len(seen)} distinct)")
    paths = [Path(p) for _, p in points]
    moved = _differing_coordinates(paths)
    varying, constant, dropped, full = _classify(paths, moved)
    as_coordinates = _equal_to_sweep_coordinates(points, dims, coords, varying + constant)
    varying = [v for v in varying if v not in as_coordinates]
    constant = [v for v in constant if v not in as_coordinates]
    if dropped:
        log.warning("sweep store %s: variables %s change shape between the points and are not stacked",
                    out.name, ", ".join(dropped))
    first = _open(paths[0], moved)
    template = _template(first, full, varying, constant, dims, sizes, coords)
    # the chunk policy (docs/design.md, Chunks): one point per chunk along the sweep dimensions,
    # the other dimensions chunked alike for every variable (magcore.store.chunk_sizes)
    template = apply_chunks(template, chunk_sizes(template, fixed={d: 1 for d in dims}))
    stacked = {"stacked_dims": json.dumps(list(dims)), "stacked_constant_variables": json.dumps(constant),
               "stacked_dropped_variables": json.dumps(dropped),
               "stacked_variables_as_coordinates": json.dumps(as_coordinates),
               "stacked_coordinates_as_variables": json.dumps(moved)}
    # CF attributes, canonical units and netCDF-safe attributes, as every store (magcore.store)
    config = json.loads(attrs["config"]) if isinstance(attrs.get("config"), str) else {}
    template = finish_store_dataset(template, stage_of(out), config, {**attrs, **stacked})
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        template.to_zarr(tmp, mode="w", zarr_format=3, consolidated=True, compute=False)
        _write_constants(first, constant, tmp)
        for index, path in points:
            _write_point(_open(path, moved), full, varying, dims, index, tmp)
    replace_store(tmp, out)
    hold_for_test(f"sweep-store-rename:{out.name}", out)
    return out


def _equal_to_sweep_coordinates(points, dims: tuple[str, ...], coords, names: list[str]) -> list[str]:
    """Scalar variables of the point stores named like a sweep coordinate (e.g. the bands
    store's chemical_potential in a sweep over it): left out of the result when they equal the
    coordinate at every point (the coordinate holds them); any other name clash is refused."""
    clash = [n for n in names if n in coords]
    for name in clash:
        axis = coords[name][0][0]
        if axis not in dims:
            raise ValueError(f"variable {name!r} of the point stores clashes with the sweep coordinate {name!r}")
        values = np.asarray(coords[name][1])
        for index, path in points:
            v = xr.open_zarr(path)[name]
            if v.ndim or v.values != values[index[dims.index(axis)]]:
                raise ValueError(f"{path}: variable {name!r} is not the sweep coordinate's value there; the point "
                                 "stores cannot be stacked")
    return clash


def _write_constants(first: xr.Dataset, constant: list[str], tmp: Path) -> None:
    """Write the variables equal at every point once: arrays by a whole-array region write,
    scalars through zarr (a region write needs a dimension)."""
    import zarr

    arrays = [v for v in constant if first[v].ndim]
    if arrays:
        part = xr.Dataset({v: first[v].variable.load() for v in arrays})
        part.to_zarr(tmp, mode="r+", zarr_format=3, consolidated=False, region={d: slice(None) for d in part.dims})
    scalars = [v for v in constant if not first[v].ndim]
    if scalars:
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        for v in scalars:
            group[v][...] = first[v].values


def _template(first: xr.Dataset, full: dict[str, xr.DataArray], varying: list[str], constant: list[str],
              dims: tuple[str, ...], sizes: dict[str, int], coords) -> xr.Dataset:
    """The result's layout as lazy arrays: varying variables with the sweep dimensions in front
    (one point per chunk), constant ones as they are."""
    import dask.array as da

    data_vars = {}
    for name in varying:
        v = full[name]
        shape = tuple(sizes[d] for d in dims) + v.shape
        chunks = (1,) * len(dims) + v.shape
        data_vars[name] = (dims + v.dims, da.zeros(shape, dtype=v.dtype, chunks=chunks), dict(v.attrs))
    for name in constant:
        v = first[name]
        data_vars[name] = (v.dims, da.zeros(v.shape, dtype=v.dtype, chunks=v.shape or ()), dict(v.attrs))
    inner = {k: c for v in varying for k, c in full[v].coords.items()}
    ds = xr.Dataset(data_vars, coords={**inner, **{k: c for k, c in first.coords.items()},
                                       **{name: (c[0], _labels(c[1]), c[2]) for name, c in coords.items()}})
    for name in varying + constant:
        ds[name].encoding = {"chunks": ds[name].data.chunksize}
        if "_FillValue" in first[name].encoding:
            ds[name].encoding["_FillValue"] = first[name].encoding["_FillValue"]
    return ds


def _labels(values) -> np.ndarray:
    """Coordinate values; strings as variable-length strings (zarr 3 has a spec for those)."""
    values = np.asarray(values)
    return values.astype(object) if values.dtype.kind == "U" else values


def _write_point(ds: xr.Dataset, full: dict[str, xr.DataArray], varying: list[str], dims: tuple[str, ...],
                 index: tuple[int, ...], tmp: Path) -> None:
    """Write one point store's varying variables into their region of ``tmp``, broadcast to
    their fullest form first."""
    if not varying:
        return
    arrays = {}
    for v in varying:
        x = ds[v].load()  # one point in memory; its own chunks need not match the result's
        missing = {d: full[v].sizes[d] for d in full[v].dims if d not in x.dims}
        if missing:
            x = x.expand_dims(missing).transpose(*full[v].dims)
        arrays[v] = x.variable
    part = xr.Dataset(arrays)
    part = part.expand_dims({d: 1 for d in dims}) if dims else part
    region = {d: slice(i, i + 1) for d, i in zip(dims, index)}
    region.update({d: slice(None) for d in part.dims if d not in region})
    part.to_zarr(tmp, mode="r+", zarr_format=3, consolidated=False, region=region)
