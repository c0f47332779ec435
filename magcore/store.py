"""zarr stores with provenance.

Every store carries, as attributes: the resolved config (JSON) and its hash, the magcore
version and git revision, versions of numpy/xarray/zarr/dask, host, start and end time and a
completion flag.  Stores are written to a temporary sibling and renamed into place, so a
killed writer never leaves a half-written store under the final name.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import subprocess
import warnings
from pathlib import Path
from typing import Any

import xarray as xr

from . import __version__
from .config import config_hash


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    rev = out.stdout.strip() if out.returncode == 0 else "unknown"
    if rev != "unknown":
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        rev += "-dirty" if dirty else ""
    return rev


def now() -> str:
    """Current UTC time in ISO 8601."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def provenance(config: dict[str, Any], started: str) -> dict[str, Any]:
    """Provenance attributes for a store produced from ``config``."""
    import dask
    import numpy
    import zarr

    return {
        "magcore_version": __version__,
        "magcore_git_revision": _git_revision(),
        "config": json.dumps(config, sort_keys=True),
        "config_hash": config_hash(config),
        "versions": json.dumps({"numpy": numpy.__version__, "xarray": xr.__version__,
                                "zarr": zarr.__version__, "dask": dask.__version__}),
        "host": socket.gethostname(),
        "started": started,
        "finished": now(),
        "complete": True,
    }


def write_store(ds: xr.Dataset, path: str | Path, config: dict[str, Any], started: str) -> Path:
    """Write ``ds`` with provenance to the zarr store ``path`` (atomically, by rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs.update(provenance(config, started))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    with warnings.catch_warnings():
        # zarr-python stores consolidated metadata inside zarr.json (not yet in the v3 spec);
        # xarray.open_zarr reads it, and without it warns on every open.
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=True)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path


def open_store(path: str | Path) -> xr.Dataset:
    """Open a magcore store (lazily, with dask) as an xarray Dataset."""
    return xr.open_zarr(path)


def study_config(ds: xr.Dataset) -> dict[str, Any]:
    """The resolved configuration a store was made from."""
    return json.loads(ds.attrs["config"])


STAGES = ("bands", "sphere", "texture", "llg")


def study_status(study_dir: str | Path) -> dict[str, dict[str, Any]]:
    """What of a study exists and whether it is complete, store by store.

    For each stage store ``<study_dir>/<stage>.zarr``: ``state`` is "complete" (its provenance
    says so), "incomplete" (a store without the completion flag) or "missing", with its config
    hash, finish time and, for interrupted stages, the number of finished checkpoint chunks.
    """
    study_dir = Path(study_dir)
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        path = study_dir / f"{stage}.zarr"
        entry: dict[str, Any] = {"path": str(path), "state": "missing"}
        if (path / "zarr.json").exists():
            try:
                ds = open_store(path)
                entry.update(state="complete" if ds.attrs.get("complete") is True else "incomplete",
                             config_hash=ds.attrs.get("config_hash"), finished=ds.attrs.get("finished"),
                             variables=len(ds.data_vars))
            except Exception as exc:  # a damaged store is reported, not raised
                entry.update(state="unreadable", error=str(exc).splitlines()[0])
        chunks = sorted((study_dir / ".checkpoints").glob(f"{stage}-*/chunk_*.npz"))
        if chunks and entry["state"] != "complete":
            entry.update(state="interrupted", checkpoint_chunks=len(chunks))
        out[stage] = entry
    return out


def open_study(study_dir: str | Path) -> dict[str, xr.Dataset]:
    """Open every complete store of a study: ``{"bands": Dataset, "sphere": Dataset, ...}``."""
    return {stage: open_store(entry["path"]) for stage, entry in study_status(study_dir).items()
            if entry["state"] == "complete"}


def describe_store(ds: xr.Dataset, name: str = "") -> str:
    """Plain-text summary of a store: provenance, then one line per variable with its units,
    equation, range and NaN count, then the flag counts."""
    import numpy as np

    lines = [f"== {name or 'store'}: model {ds.attrs.get('model')}, complete={ds.attrs.get('complete')}, "
             f"config {str(ds.attrs.get('config_hash', ''))[:12]}, magcore {ds.attrs.get('magcore_version')} "
             f"({ds.attrs.get('magcore_git_revision')}), finished {ds.attrs.get('finished')}"]
    lines.append("   dims: " + ", ".join(f"{k}={v}" for k, v in ds.sizes.items()))
    for var in sorted(ds.data_vars):
        da = ds[var]
        values = np.asarray(da.values)
        desc = f"   {var:<40} [{da.attrs.get('units', '')}] eq. {da.attrs.get('equation', '-')}"
        if values.dtype.kind in "fiub" and values.size:
            finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            nan = int(values.size - finite.size)
            if finite.size:
                desc += f"  range [{finite.min():.4g}, {finite.max():.4g}]"
            desc += f"  NaN {nan}/{values.size}" if nan else ""
        lines.append(desc)
    if "flag" in ds:
        flags = np.asarray(ds["flag"].values)
        for mask, meaning in zip(ds["flag"].attrs.get("flag_masks", []), ds["flag"].attrs.get("flag_meanings", "").split()):
            lines.append(f"   flag {meaning}: {int(((flags & mask) != 0).sum())} points")
    return "\n".join(lines)


def write_summary(store_paths, out: str | Path) -> Path:
    """Write :func:`describe_store` of every store to the text file ``out``."""
    text = "\n\n".join(describe_store(open_store(p), Path(p).stem) for p in store_paths)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return out
