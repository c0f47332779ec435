"""Fingerprints: one hash of everything that determines a stage's result.

A fingerprint combines

* the resolved configuration (:func:`magcore.config.config_hash`);
* the content of every input file the study reads (a Wannier90 ``_hr.dat`` and the files of
  the same seed beside it, a hopping-list file and the ``_hr.dat`` it names, the sphere store
  an ``llg`` stage reads), by SHA-256 of the bytes, not by path or date;
* the model's own fingerprint (:meth:`magcore.models.Model.fingerprint`: for a tight-binding model
  the hopping matrices it was built from);
* the code that computes results: SHA-256 of the package's source files (all modules but those
  that only draw or print).

Checkpoint directories and chunk files are keyed by it (a run never resumes from chunks of
other inputs) and every store records it with the file hashes.  A stage runs inside
:func:`hash_files_once`: checking its upstream stores, keying its checkpoints and recording its
inputs then read and hash each file once.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from .config import config_hash

# modules that draw, print, compare or parse the command line: they do not change stored numbers
_PRESENTATION = {"plots.py", "cli.py", "compare.py"}
# files Wannier90 writes beside seed_hr.dat that a reader of the seed may use
_WANNIER_COMPANIONS = ("_wsvec.dat", "_tb.dat", "_centres.xyz", ".win")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the result-affecting source files of the installed magcore package."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*.py") if p.name not in _PRESENTATION and "__pycache__" not in p.parts)
    for path in files + sorted((root / "data").glob("*.yaml")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


_HASHED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("magcore_file_hashes",
                                                                                default=None)


@contextlib.contextmanager
def hash_files_once():
    """Within the block, :func:`file_hash` reads and hashes each file once and returns the same
    digest for it afterwards (one stage: its inputs are taken as they were when first hashed)."""
    token = _HASHED.set({})
    try:
        yield
    finally:
        _HASHED.reset(token)


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (once per file inside :func:`hash_files_once`)."""
    seen = _HASHED.get()
    if seen is None:
        return _sha256(path)
    key = str(Path(path).resolve())
    if key not in seen:
        seen[key] = _sha256(path)
    return seen[key]


def _strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _with_companions(path: Path) -> list[Path]:
    out = [path]
    for end in ("_hr.dat", "_tb.dat"):  # the tight_binding reader uses the seed's other files
        if path.name.endswith(end):
            seed = path.name[: -len(end)]
            out += [path.with_name(seed + suffix) for suffix in _WANNIER_COMPANIONS + ("_hr.dat",)]
    return [p for p in out if p.is_file()]


def input_files(cfg: dict[str, Any]) -> list[Path]:
    """Every file outside the config whose content the study's results depend on: the model's
    files (:func:`model_files`) and the sphere store an llg stage reads."""
    files = model_files(cfg)
    store = (cfg.get("llg") or {}).get("sphere_store")
    if store and (Path(store) / "zarr.json").is_file():
        files.append(Path(store) / "zarr.json")
    return _unique(files)


def model_files(cfg: dict[str, Any]) -> list[Path]:
    """The files the model is read from: every file named in ``model.source`` (with the
    Wannier90 files of the same seed beside an ``_hr.dat``) and the ``_hr.dat`` a hopping file
    names."""
    files: list[Path] = []
    source = cfg.get("model", {}).get("source") or {}
    for text in _strings(source):
        path = Path(text).expanduser()
        if len(text) < 4096 and path.is_file():
            files += _with_companions(path)
    hoppings = source.get("hoppings_file") if isinstance(source, dict) else None
    if hoppings and Path(hoppings).is_file():
        import yaml

        try:
            inner = yaml.safe_load(Path(hoppings).read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            inner = {}
        if isinstance(inner, dict) and isinstance(inner.get("hr_dat"), str):
            files += _with_companions(Path(hoppings).parent / Path(inner["hr_dat"]).expanduser())
    return _unique(files)


def _unique(files: list[Path]) -> list[Path]:
    unique: dict[str, Path] = {}
    for path in files:
        unique.setdefault(str(path.resolve()), path)
    return list(unique.values())


def input_file_hashes(cfg: dict[str, Any], *, model_only: bool = False) -> dict[str, str]:
    """``{path: sha256}`` of :func:`input_files` (of :func:`model_files` with ``model_only``)."""
    return {str(path): file_hash(path) for path in (model_files(cfg) if model_only else input_files(cfg))}


def fingerprint(cfg: dict[str, Any], model=None, files: dict[str, str] | None = None) -> str:
    """SHA-256 of the resolved config, the input files' contents, the model's fingerprint and the
    code (see the module docstring).  ``files`` defaults to :func:`input_file_hashes`."""
    files = input_file_hashes(cfg) if files is None else files
    h = hashlib.sha256()
    h.update(config_hash(cfg).encode())
    h.update(json.dumps(sorted(files.values())).encode())
    h.update((model.fingerprint() if model is not None else "").encode())
    h.update(code_fingerprint().encode())
    return h.hexdigest()
