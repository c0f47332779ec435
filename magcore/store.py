"""zarr stores with provenance.

Every store carries, as attributes: the resolved config (JSON) and its hash, the magcore
version and git revision, versions of numpy/xarray/zarr/dask, host, start and end time and a
completion flag, and the CF global attributes ``Conventions``, ``title``, ``history``,
``source`` and ``references`` (the dissertation and the papers of the model's parameters).
Stores are written to a temporary sibling and renamed into place, so a killed writer never
leaves a half-written store under the final name.

Attributes are kept to what netCDF can hold, so that ``ds.to_netcdf`` works on every store
(:func:`encode_attrs`): a boolean is stored as the integer 0 or 1 and its name listed in the
attribute ``boolean_attrs``; a mapping (or a list that is not all numbers or all strings) as a
JSON string, its name listed in ``json_attrs`` (both lists space-separated, on the dataset or
on the variable that holds the attribute).  :func:`open_store` decodes both, so readers inside
magcore see ``complete`` as ``True`` and ``model_parameters`` as a dict; a reader of the raw
store (``xr.open_zarr``, a netCDF copy) sees ``complete == 1`` and applies :func:`decode_attrs`
itself.  Attributes that are JSON by design (``config``, ``input_files``, ``versions``, ...)
stay strings either way.  Every ``units`` attribute is written as :func:`magcore.units.canonical`
spells it, and variables are chunked by :func:`chunk_sizes` (``docs/design.md``, Chunks).
"""

from __future__ import annotations

import contextlib
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
from .attrs import decode_attrs, encode_attrs, is_complete  # noqa: F401  (re-exported)
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


DISSERTATION = ("B. Xiong, doctoral dissertation: semiclassical theory of the electronic contributions to "
                "magnetization dynamics, chapters 2 and 3 (the equation attribute of each variable gives the "
                "equation number)")
"""The reference every store cites (README: the theory magcore implements)."""

MODEL_REFERENCES: dict[str, str] = {
    "ti_surface": "model: dissertation section 2.3, eq. 2.30",
    "ti_edge": "model: dissertation section 2.4.1, eq. 2.38",
    "tmd": "model and GGA parameters (Table II): G.-B. Liu, W.-Y. Shan, Y. Yao, W. Yao and D. Xiao, "
           "Phys. Rev. B 88, 085433 (2013), doi:10.1103/PhysRevB.88.085433",
    "rashba_fm": "model: A. Manchon and S. Zhang, Phys. Rev. B 78, 212405 (2008), doi:10.1103/PhysRevB.78.212405; "
                 "dissertation section 2.1.1",
    "qwz": "validation model: X.-L. Qi, Y.-S. Wu and S.-C. Zhang, Phys. Rev. B 74, 085308 (2006), "
           "doi:10.1103/PhysRevB.74.085308",
    "dirac4d": "validation model: 4D lattice Dirac model (docs/physics.md, Models)",
    "tight_binding": "model: the hopping files named in the config (model.source; their SHA-256 in input_files)",
}
"""Where each model and its parameters come from (``references`` of the stores)."""

CF_CONVENTIONS = "CF-1.10"


def references(config: dict[str, Any]) -> str:
    """The CF ``references`` attribute of a store made from ``config``: the dissertation and
    the source of the model's parameters, one per line."""
    name = str((config.get("model") or {}).get("name", ""))
    return "\n".join([DISSERTATION] + ([MODEL_REFERENCES[name]] if name in MODEL_REFERENCES else []))


def cf_attributes(config: dict[str, Any], stage: str, prov: dict[str, Any]) -> dict[str, Any]:
    """CF global attributes (Conventions, title, history, source, references) of the store of
    ``stage`` made from ``config`` with the provenance ``prov``."""
    model = (config.get("model") or {})
    name = str(model.get("name", ""))
    material = model.get("material")
    what = name + (f" ({material})" if material else "")
    study = config.get("study", "")
    version = f"magcore {prov.get('magcore_version', __version__)} (git {prov.get('magcore_git_revision', '')})"
    return {
        "Conventions": CF_CONVENTIONS,
        "title": f"magcore {stage} store of study {study}: model {what}".strip(),
        "history": f"{prov.get('finished', now())}: {stage} stage of study {study} written by {version}",
        "source": version,
        "references": references(config),
        "comment": ("attributes listed in json_attrs are JSON strings and those in boolean_attrs the integers 0/1 "
                    "(magcore.store.decode_attrs); units read with magcore.units.registry (model units eps0, t, a)"),
    }


CHUNK_BYTES = 16 * 2**20
"""Largest chunk (uncompressed bytes) of a store variable (:func:`chunk_sizes`)."""


def chunk_sizes(ds: xr.Dataset, fixed: dict[str, int] | None = None, max_bytes: int = CHUNK_BYTES) -> dict[str, int]:
    """The chunk size along every dimension of ``ds``, one for all its variables (the chunk
    policy, ``docs/design.md``): every dimension whole, except that while a variable's chunk is
    larger than ``max_bytes`` its dimensions, first one first, are halved; ``fixed`` sizes
    (e.g. 1 along the sweep dimensions) are kept.  A variable's chunks are then
    ``tuple(sizes[d] for d in var.dims)``."""
    import math

    fixed = dict(fixed or {})
    sizes = {d: fixed.get(d, n) for d, n in ds.sizes.items()}
    for var in sorted(ds.variables.values(), key=lambda v: -v.nbytes):
        itemsize = var.dtype.itemsize if var.dtype.kind != "O" else 64
        while True:
            nbytes = itemsize * math.prod(sizes[d] for d in var.dims)
            free = [d for d in var.dims if d not in fixed and sizes[d] > 1]
            if nbytes <= max_bytes or not free:
                break
            sizes[free[0]] = -(-sizes[free[0]] // 2)
    return {d: max(1, n) for d, n in sizes.items()}


def apply_chunks(ds: xr.Dataset, sizes: dict[str, int]) -> xr.Dataset:
    """``ds`` with every variable's zarr chunks (and dask chunks, if lazy) set from ``sizes``."""
    for name in list(ds.variables):
        var = ds.variables[name]
        if not var.dims:
            continue
        chunks = tuple(sizes[d] for d in var.dims)
        if var.chunks is not None and var.chunks != tuple(tuple(_blocks(n, c)) for n, c in zip(var.shape, chunks)):
            ds[name] = var.chunk(dict(zip(var.dims, chunks)))
            var = ds.variables[name]
        encoding = {k: v for k, v in var.encoding.items() if k not in ("chunks", "preferred_chunks", "shards")}
        encoding["chunks"] = chunks
        var.encoding = encoding
    return ds


def _blocks(n: int, c: int) -> list[int]:
    return [min(c, n - i) for i in range(0, n, c)] or [0]


def finish_store_dataset(ds: xr.Dataset, stage: str, config: dict[str, Any], prov: dict[str, Any]) -> xr.Dataset:
    """What every store is written as: the provenance ``prov`` and CF attributes added, every
    ``units`` attribute in its canonical spelling (:func:`magcore.units.canonical`; one that does
    not parse is a ``ValueError`` before anything is written), all attributes encoded
    (:func:`encode_attrs`).  Returns a shallow copy."""
    from .units import canonical

    ds = ds.copy()
    for name, var in ds.variables.items():
        attrs = dict(var.attrs)
        if "units" in attrs:
            try:
                attrs["units"] = canonical(str(attrs["units"]))
            except ValueError as exc:
                raise ValueError(f"{stage} store, variable {name}: {exc}") from None
        var.attrs = encode_attrs(attrs)
    attrs = dict(ds.attrs)
    for key in ("energy_unit", "length_unit"):
        if isinstance(attrs.get(key), str):
            attrs[key] = canonical(attrs[key])
    attrs.update(prov)
    attrs.update(cf_attributes(config, stage, prov))
    ds.attrs = encode_attrs(attrs)
    return ds


def stage_of(path: str | Path) -> str:
    """The stage a store path belongs to: ``results/x/sphere.zarr`` -> ``sphere``."""
    name = Path(path).name
    return name[: -len(".zarr")] if name.endswith(".zarr") else name


def write_store(ds: xr.Dataset, path: str | Path, config: dict[str, Any], started: str, *, model=None) -> Path:
    """Write ``ds`` with provenance to the zarr store ``path`` (atomically, by rename), its
    attributes and chunks as :func:`finish_store_dataset` and :func:`chunk_sizes` make them.

    The store is written to ``.<name>.tmp-<pid>`` beside ``path`` and renamed into place;
    temporaries of earlier, killed writers of the same store are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = finish_store_dataset(ds, stage_of(path), config, provenance(config, started, model=model))
    ds = apply_chunks(ds, chunk_sizes(ds))
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
    """Open a magcore store (lazily, with dask) as an xarray Dataset, its attributes decoded
    (:func:`decode_attrs`: ``complete`` a bool, ``model_parameters`` a dict)."""
    return decode_dataset_attrs(xr.open_zarr(path))


def decode_dataset_attrs(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (a store opened raw, or its netCDF copy) with :func:`decode_attrs` applied to
    its own and its variables' attributes, in place; returned."""
    ds.attrs = decode_attrs(ds.attrs)
    for var in ds.variables.values():
        if "boolean_attrs" in var.attrs or "json_attrs" in var.attrs:
            var.attrs = decode_attrs(var.attrs)
    return ds


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
    ``checkpoint_chunks`` done of ``checkpoint_total``), "disabled" (no store, and the study's
    config, as its other stores record it, does not run the stage: ``texture.enabled`` or
    ``llg.enabled`` false) or "missing"; with the store's config
    hash, fingerprint and finish time.  Raises ``FileNotFoundError`` if ``study_dir`` is not a
    directory.
    """
    from .engine import checkpoint_progress

    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise FileNotFoundError(f"no study folder {study_dir}")
    out: dict[str, dict[str, Any]] = {}
    configs: list[dict[str, Any]] = []
    for stage in STAGES:
        path = study_dir / f"{stage}.zarr"
        entry: dict[str, Any] = {"path": str(path), "state": "missing"}
        if (path / "zarr.json").exists():
            try:
                ds = open_store(path)
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    configs.append(study_config(ds))
                entry.update(state="complete" if is_complete(ds.attrs) else "incomplete",
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
    if configs:
        for stage, entry in out.items():
            if entry["state"] == "missing" and not stage_enabled(configs[0], stage):
                entry["state"] = "disabled"
    return out


def stage_enabled(config: dict[str, Any], stage: str) -> bool:
    """Whether the study ``config`` runs ``stage`` (bands and sphere always; texture and llg when
    enabled)."""
    if stage in ("texture", "llg"):
        return bool((config.get(stage) or {}).get("enabled", False))
    return True


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

    model = ds.attrs.get("model")
    if model is None or (isinstance(model, str) and model.startswith("{")):  # a sweep store; the llg store
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):  # (its 'model': the LLG spec)
            studied = study_config(ds)["model"]["name"]
            model = studied if model is None else f"{studied} (LLG model: attribute 'model')"
    lines = [f"== {name or 'store'}: model {model}, complete={ds.attrs.get('complete')}, "
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
    for var in sorted(ds.variables, key=lambda v: (v != "flag", v)):  # CF flag variables: counts per meaning
        attrs = ds[var].attrs
        meanings = str(attrs.get("flag_meanings", "")).split()
        if not meanings:
            continue
        flags = np.asarray(ds[var].values)
        prefix = "flag" if var == "flag" else f"{var}:"
        if "flag_masks" in attrs:
            counts = [int(((flags & int(mask)) != 0).sum()) for mask in np.atleast_1d(attrs["flag_masks"])]
        else:
            counts = [int((flags == int(value)).sum()) for value in np.atleast_1d(attrs.get("flag_values", []))]
        for meaning, count in zip(meanings, counts):
            lines.append(f"   {prefix} {meaning}: {count} points")
    return "\n".join(lines)


def write_summary(store_paths, out: str | Path, logs=()) -> Path:
    """Write :func:`describe_store` of every store to the text file ``out``, then the warnings
    each stage log in ``logs`` ends with (:func:`magcore.engine.progress.warning_summary_in`)."""
    text = "\n\n".join(describe_store(open_store(p), Path(p).stem) for p in store_paths)
    warned = _stage_warnings(logs)
    if warned:
        text += "\n\n" + warned
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return out


def _stage_warnings(logs) -> str:
    """``== warnings of the stages``, then per log its warnings (logs without a summary left out)."""
    from .engine.progress import warning_summary_in

    lines = []
    for path in logs:
        found = warning_summary_in(Path(path).read_text(errors="replace"))
        if found is not None:
            lines.append(f"   {Path(path).name}: {len(found) or 'no'} warning{'' if len(found) == 1 else 's'}")
            lines += [f"      {w}" for w in found]
    return "\n".join(["== warnings of the stages"] + lines) if lines else ""
