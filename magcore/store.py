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
from ._faults import hold_for_test
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


def provenance(config: dict[str, Any], started: str, *, model=None) -> dict[str, Any]:
    """Provenance attributes for a store produced from ``config`` (and ``model``, whose identity
    enters the fingerprint): the fingerprint of everything that determines the result
    (:mod:`magcore.fingerprint`) with the hash of every input file and of the code."""
    import dask
    import numpy
    import zarr

    from .fingerprint import code_fingerprint, fingerprint, input_file_hashes

    files = input_file_hashes(config)
    return {
        "magcore_version": __version__,
        "magcore_git_revision": _git_revision(),
        "config": json.dumps(config, sort_keys=True),
        "config_hash": config_hash(config),
        "fingerprint": fingerprint(config, model, files),
        "input_files": json.dumps(files, sort_keys=True),
        "code_fingerprint": code_fingerprint(),
        "model_fingerprint": model.fingerprint() if model is not None else "",
        "versions": json.dumps({"numpy": numpy.__version__, "xarray": xr.__version__,
                                "zarr": zarr.__version__, "dask": dask.__version__}),
        "host": socket.gethostname(),
        "started": started,
        "finished": now(),
        "complete": True,
    }


def write_store(ds: xr.Dataset, path: str | Path, config: dict[str, Any], started: str, *, model=None) -> Path:
    """Write ``ds`` with provenance to the zarr store ``path`` (atomically, by rename).

    The store is written to ``.<name>.tmp-<pid>`` beside ``path`` and renamed into place;
    temporaries of earlier, killed writers of the same store are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs.update(provenance(config, started, model=model))
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with warnings.catch_warnings():
        # zarr-python stores consolidated metadata inside zarr.json (not yet in the v3 spec);
        # xarray.open_zarr reads it, and without it warns on every open.
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=True)
    replace_store(tmp, path)
    hold_for_test(f"store-rename:{path.name}", path)
    return path


def replace_store(tmp: Path, path: Path) -> None:
    """Give the finished store ``tmp`` the name ``path``; an old store there is moved aside
    whole first and then deleted, so the final name never holds a half-deleted store."""
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.tmp-old-{os.getpid()}")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
    says so), "unbooked" (complete, but its Snakemake job was killed before it was recorded as
    finished: the next run redoes it), "incomplete" (a store without the completion flag),
    "unreadable", "interrupted"
    (no complete store, but finished checkpoint chunks: a rerun resumes from them; with
    ``checkpoint_chunks`` done of ``checkpoint_total``) or "missing"; with the store's config
    hash, fingerprint and finish time.  Raises ``FileNotFoundError`` if ``study_dir`` is not a
    directory.
    """
    from .engine import checkpoint_progress

    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise FileNotFoundError(f"no study folder {study_dir}")
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        path = study_dir / f"{stage}.zarr"
        entry: dict[str, Any] = {"path": str(path), "state": "missing"}
        if (path / "zarr.json").exists():
            try:
                ds = open_store(path)
                entry.update(state="complete" if ds.attrs.get("complete") is True else "incomplete",
                             config_hash=ds.attrs.get("config_hash"), fingerprint=ds.attrs.get("fingerprint"),
                             finished=ds.attrs.get("finished"), variables=len(ds.data_vars))
            except Exception as exc:  # a damaged store is reported, not raised
                entry.update(state="unreadable", error=str(exc).splitlines()[0])
        if entry["state"] == "complete" and _snakemake_marks_incomplete(path / "zarr.json"):
            entry["state"] = "unbooked"  # written, but its job never finished: Snakemake reruns it
        done, total = 0, 0
        for directory in sorted((study_dir / ".checkpoints").glob(f"{stage}-*")):
            d, t = checkpoint_progress(directory)
            done += d
            total = None if (t is None or total is None) else total + t
        if done and entry["state"] != "complete":
            entry.update(checkpoint_chunks=done, checkpoint_total=total)
            if entry["state"] != "unbooked":
                entry["state"] = "interrupted"
        out[stage] = entry
    return out


def _snakemake_workdir(path: Path) -> Path | None:
    for parent in path.absolute().parents:
        if (parent / ".snakemake").is_dir():
            return parent
    return None


def _snakemake_marks_incomplete(output: Path) -> bool:
    """Whether Snakemake's file-based metadata (``.snakemake/incomplete/``, keyed by the
    url-safe base64 of the output path relative to the working directory, split at the file
    system's name length) marks ``output`` as the output of a job that started and never
    finished."""
    from base64 import urlsafe_b64encode

    workdir = _snakemake_workdir(output)
    if workdir is None:
        return False
    subject = workdir / ".snakemake" / "incomplete"
    if not subject.is_dir():
        return False
    size = os.pathconf(subject, "PC_NAME_MAX") - 1
    for name in (output.absolute().relative_to(workdir), output.absolute()):  # as the Snakefile names it
        key = urlsafe_b64encode(str(name).encode()).decode()
        parts = [key[i:i + size] for i in range(0, len(key), size)]
        if subject.joinpath(*["@" + s for s in parts[:-1]], parts[-1]).exists():
            return True
    return False


def snakemake_locked(study_dir: str | Path) -> bool:
    """Whether Snakemake's directory lock is held (or was left by a killed run) in the
    working directory above ``study_dir``."""
    workdir = _snakemake_workdir(Path(study_dir))
    return workdir is not None and any((workdir / ".snakemake" / "locks").glob("*"))


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
