"""Finished chunks of a long computation kept on disk, so an interrupted run resumes.

A stage splits its work into numbered chunks (sphere points, wall positions, trajectories).
Each finished chunk is one file ``<directory>/chunk_<c>.npz``.  The directory is named by the
fingerprint of everything that determines the result (:mod:`magcore.fingerprint`), and every
chunk file carries that fingerprint too, so chunks of other inputs are never mixed in.

Write protocol (what a ``kill -9`` at any moment can leave behind):

1. the chunk is written to ``chunk_<c>.npz.tmp-<pid>`` (a name no reader takes for a chunk),
   flushed and fsync'ed;
2. it is renamed to ``chunk_<c>.npz`` (atomic on POSIX file systems).

A kill during 1 leaves a temporary file, removed when the directory is next opened; a kill
after 2 leaves a whole chunk.  A chunk file that cannot be read (a damaged disk, a file
system without atomic rename) is reported, deleted and recomputed, never used.

This module knows nothing of physics: a chunk is a dict of numpy arrays.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np

from .._faults import hold_for_test

log = logging.getLogger(__name__)

_CHUNK = re.compile(r"^chunk_(\d{6,})\.npz$")
_MANIFEST = "manifest.json"


class ChunkCheckpoints:
    """The finished chunks of one computation, in ``directory``.

    ``fingerprint`` identifies the inputs (stored in every chunk; a chunk with another
    fingerprint is discarded).  ``total`` (the number of chunks of the whole computation) and
    ``stage`` are written to ``manifest.json`` so that ``magcore status`` can say how far an
    interrupted stage got.  Opening the directory removes temporary files left by a killed
    writer.
    """

    def __init__(self, directory: str | Path, *, fingerprint: str = "", stage: str = ""):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.stage = stage
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob("*.tmp-*"):
            log.info("checkpoints: removing %s left by an interrupted write", stale.name)
            stale.unlink(missing_ok=True)

    def path(self, chunk: int) -> Path:
        return self.directory / f"chunk_{chunk:06d}.npz"

    def set_total(self, total: int) -> None:
        """Record how many chunks the whole computation has (for ``magcore status``)."""
        manifest = {"stage": self.stage, "fingerprint": self.fingerprint, "total_chunks": int(total)}
        tmp = self.directory / f"{_MANIFEST}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, self.directory / _MANIFEST)

    def load(self, chunk: int) -> dict[str, np.ndarray] | None:
        """The arrays of a finished chunk, or None if it is missing, unreadable or was made from
        other inputs (the last two are logged and the file deleted)."""
        path = self.path(chunk)
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                stored = str(data["_fingerprint"]) if "_fingerprint" in data.files else ""
                out = {key: data[key] for key in data.files if not key.startswith("_")}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("checkpoints: %s is unreadable (%s); recomputing it", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        if stored != self.fingerprint:
            log.warning("checkpoints: %s was made from other inputs (fingerprint %s, expected %s); "
                        "recomputing it", path.name, stored[:12] or "none", self.fingerprint[:12] or "none")
            path.unlink(missing_ok=True)
            return None
        return out

    def save(self, chunk: int, result: dict[str, np.ndarray], points: slice | None = None) -> None:
        """Write one finished chunk (write, fsync, rename); ``points`` (the item range it
        covers) is stored with it so that coverage and disjointness can be checked
        (:meth:`check_disjoint`)."""
        final = self.path(chunk)
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        extra = {"_fingerprint": np.array(self.fingerprint)}
        if points is not None:
            extra["_points"] = np.array([points.start, points.stop])
        with open(tmp, "wb") as fh:
            np.savez(fh, **result, **extra)
            fh.flush()
            os.fsync(fh.fileno())
        hold_for_test("checkpoint-write", tmp, count=lambda: len(self.finished()))
        os.replace(tmp, final)

    def point_ranges(self) -> dict[int, tuple[int, int]]:
        """Item range [start, stop) of every finished chunk."""
        out = {}
        for c in self.finished():
            with np.load(self.path(c)) as data:
                if "_points" in data.files:
                    out[c] = tuple(int(x) for x in data["_points"])
        return out

    def check_disjoint(self, n_points: int | None = None) -> None:
        """Raise if two finished chunks cover overlapping items (or, given ``n_points`` and all
        chunks finished, if they do not cover every item exactly once)."""
        ranges = sorted(self.point_ranges().values())
        for (a0, a1), (b0, b1) in zip(ranges, ranges[1:]):
            if b0 < a1:
                raise RuntimeError(f"checkpoint chunks overlap: points [{a0}, {a1}) and [{b0}, {b1})")
        if n_points is not None and ranges and sum(b - a for a, b in ranges) == n_points:
            if ranges[0][0] != 0 or ranges[-1][1] != n_points:
                raise RuntimeError("checkpoint chunks do not cover the sphere points")

    def finished(self) -> list[int]:
        """Numbers of the chunk files present (whole files only: temporaries never match)."""
        return sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := _CHUNK.match(p.name)))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def checkpoint_progress(directory: str | Path) -> tuple[int, int | None]:
    """(finished chunks, total chunks or None if unknown) of a checkpoint directory."""
    directory = Path(directory)
    done = sum(1 for p in directory.iterdir() if _CHUNK.match(p.name)) if directory.is_dir() else 0
    try:
        total = int(json.loads((directory / _MANIFEST).read_text())["total_chunks"])
    except (OSError, ValueError, KeyError):
        total = None
    return done, total


def stage_checkpoints(root: str | Path, stage: str, fingerprint: str, suffix: str = "") -> ChunkCheckpoints:
    """The checkpoint directory ``<root>/<stage>-<fingerprint[:16]><suffix>`` of one stage run.

    Directories of the same stage (and suffix) made from other inputs cannot be resumed by
    this run and are removed.
    """
    root = Path(root)
    name = f"{stage}-{fingerprint[:16]}{suffix}"
    if root.is_dir():
        pattern = re.compile(rf"^{re.escape(stage)}-[0-9a-f]{{16}}{re.escape(suffix)}$")
        for old in root.iterdir():
            if old.name != name and pattern.match(old.name):
                log.info("checkpoints: removing %s (made from other inputs)", old.name)
                shutil.rmtree(old, ignore_errors=True)
    return ChunkCheckpoints(root / name, fingerprint=fingerprint, stage=stage)
