"""Readers for the Wannier90 files a user material comes with.

* ``seedname_hr.dat``: header line, num_wann, nrpts, nrpts Wigner-Seitz degeneracies (15 per
  line), then nrpts * num_wann^2 lines ``R1 R2 R3 m n Re Im`` = H_mn(R) (m, n from 1).
* ``seedname_wsvec.dat`` (Wannier90 >= 3.0, ``use_ws_distance = .true.``, the default): the
  minimal-distance replica selection (MDRS).  For every element H_mn(R) of the ``_hr.dat`` it
  lists N_mnR superlattice vectors T (usually one, T = 0); the Bloch sum then is

      H_mn(k) = sum_R H_mn(R) / (ndegen(R) N_mnR) sum_T exp(i k . (R + T)) .

  Without it the same ``_hr.dat`` gives other bands (by up to 0.6 eV on Wannier90's silicon
  example).  A file whose header says ``write_ndegen_applied=.true.`` comes with an ``_hr.dat``
  that already has the shifts folded in: it is informational and not applied.
* ``seedname_tb.dat``: lattice vectors (Angstrom), H(R) as in ``_hr.dat`` and the position matrix
  elements <0m| r |Rn>; the Wannier centres are the diagonal at R = 0.
* the sparse HmnR format of WannierTools: comment, number of element lines, num_wann, nrpts, the
  nrpts degeneracies, then only the listed ``R1 R2 R3 m n Re Im`` lines (the others are zero).
* ``seedname.win``: ``unit_cell_cart`` (Angstrom or Bohr), ``atoms_cart`` / ``atoms_frac``,
  ``fermi_energy`` (eV), ``num_wann``, ``spinors``.
* ``seedname_centres.xyz``: the Wannier centres (lines ``X x y z``) and the atoms (Angstrom).
* a Fermi energy from a DFT output: Quantum ESPRESSO (``the Fermi energy is``, or mid-gap from
  ``highest occupied, lowest unoccupied level``), VASP (``E-fermi`` in OUTCAR, ``efermi`` in
  vasprun.xml) or a ``.win`` (``fermi_energy``).

Every reader raises ``ValueError`` with one line naming the file (and the line) for a malformed
file: truncated, wrong counts, non-numbers, NaN, an index out of range, an entry missing or given
twice.  Messages quote at most a short printable excerpt of a line of a file already recognised
as the format it should be.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

BOHR_ANGSTROM = 0.529177210903


def _excerpt(line: str, limit: int = 48) -> str:
    text = " ".join("".join(c if c.isascii() and c.isprintable() else "?" for c in line).split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Text:
    """The lines of a text file, with one-line errors naming the file and the line."""

    def __init__(self, path, kind: str):
        self.path = Path(path)
        self.kind = kind
        if not self.path.exists():
            raise FileNotFoundError(f"Wannier90 {kind} file not found: {self.path}")
        if not self.path.is_file():
            raise FileNotFoundError(f"Wannier90 {kind} path is not a file: {self.path}")
        raw = self.path.read_bytes()
        nul = raw.find(b"\0")
        if nul >= 0:
            self.fail(raw.count(b"\n", 0, nul) + 1, f"a NUL byte: this is a binary file, not a {kind} text file")
        try:
            self.lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            self.fail(raw.count(b"\n", 0, exc.start) + 1, f"bytes that are not text (UTF-8): not a {kind} file")

    def fail(self, lineno: int | None, msg: str):
        where = f"{self.path}, line {lineno}" if lineno is not None else f"{self.path}"
        raise ValueError(f"garbled Wannier90 {self.kind} ({where}): {msg}")

    def ints(self, idx: int, count: int | None, what: str, hint: str = "") -> list[int]:
        """The integers of line idx (``count`` of them if given); ``hint`` ends the error messages."""
        if idx >= len(self.lines):
            self.fail(idx + 1, f"file ends before the {what} line (truncated)")
        tok = self.lines[idx].split()
        expected = "integers" if count is None else "one integer" if count == 1 else f"{count} integers"
        if count is not None and len(tok) != count:
            self.fail(idx + 1, f"expected the {what} ({expected}), found {len(tok)} fields{hint}")
        try:
            return [int(t) for t in tok]
        except ValueError:
            self.fail(idx + 1, f"expected the {what} ({expected}), found something else{hint}")

    def floats(self, idx: int, count: int, what: str) -> list[float]:
        if idx >= len(self.lines):
            self.fail(idx + 1, f"file ends before the {what} line (truncated)")
        tok = self.lines[idx].split()
        if len(tok) != count:
            self.fail(idx + 1, f"expected the {what} ({count} numbers), found {len(tok)} fields")
        try:
            vals = [float(t.replace("D", "E").replace("d", "e")) for t in tok]
        except ValueError:
            self.fail(idx + 1, f"expected the {what} (numbers), found something else")
        if not all(np.isfinite(vals)):
            self.fail(idx + 1, f"non-finite number in the {what}: {_excerpt(self.lines[idx])}")
        return vals

    def positive(self, idx: int, what: str) -> int:
        (val,) = self.ints(idx, 1, what, f": not a Wannier90 {self.kind} header")
        if val <= 0:
            self.fail(idx + 1, f"{what} must be positive, got {val}")
        return val

    def degeneracies(self, idx: int, nrpts: int) -> tuple[list[int], int]:
        """nrpts positive integers from line idx on (any number per line); the next line index."""
        out: list[int] = []
        while len(out) < nrpts:
            if idx >= len(self.lines):
                self.fail(idx + 1, f"file ends after {len(out)} of {nrpts} degeneracies (truncated)")
            tok = self.lines[idx].split()
            if not tok:
                self.fail(idx + 1, "empty line inside the list of degeneracies")
            if len(out) + len(tok) > nrpts:
                self.fail(idx + 1, f"degeneracy line wrong: {nrpts} degeneracies expected, this line brings "
                                   f"the count to {len(out) + len(tok)} (is nrpts wrong?)")
            for i, t in enumerate(tok):
                try:
                    d = int(t)
                except ValueError:
                    self.fail(idx + 1, f"degeneracy line wrong: entry {i + 1} is not an integer")
                if d <= 0:
                    self.fail(idx + 1, f"degeneracy line wrong: degeneracy {d} must be positive")
                out.append(d)
            idx += 1
        return out, idx


def _number_block(text: _Text, start: int, n_lines: int, n_cols: int, what: str, *,
                  to_end: str | None = None) -> np.ndarray:
    """n_lines lines of n_cols numbers from line index ``start`` (all must be there and finite).

    With ``to_end`` (where n_lines comes from, for the messages) the block is the rest of the
    file: blank lines at its end are ignored, any other line after the block is an error.
    """
    body = text.lines[start:start + n_lines]
    note = ""
    if to_end is not None:
        note = f" ({to_end})"
        body = text.lines[start:]
        while body and not body[-1].strip():
            body.pop()
        if len(body) > n_lines:
            text.fail(start + n_lines + 1, f"{len(body) - n_lines} extra line(s) after the {n_lines} expected "
                                           f"{what} lines{note}")
    if len(body) < n_lines:
        text.fail(start + len(body), f"truncated: expected {n_lines} {what} lines{note} after line {start}, "
                                     f"found {len(body)}")
    tokens = [line.split() for line in body]
    for i, t in enumerate(tokens):
        if len(t) != n_cols:
            text.fail(start + i + 1, f"expected {n_cols} columns ({what}), got {len(t)}: {_excerpt(body[i])}")
    try:
        data = np.array(tokens, dtype=float)
    except ValueError:
        for i, t in enumerate(tokens):
            try:
                [float(x) for x in t]
            except ValueError:
                text.fail(start + i + 1, f"non-numeric entry in {_excerpt(body[i])}")
        raise  # pragma: no cover
    bad = ~np.isfinite(data).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text.fail(start + i + 1, f"non-finite number (NaN or inf) in {_excerpt(body[i])}")
    return data


def _integer_columns(text: _Text, start: int, data: np.ndarray, cols: slice, what: str) -> np.ndarray:
    ints = data[:, cols]
    frac = np.flatnonzero((ints != np.round(ints)).any(axis=1))
    if frac.size:
        i = int(frac[0])
        text.fail(start + i + 1, f"{what} must be integers: {_excerpt(text.lines[start + i])}")
    return np.round(ints).astype(np.int64)


def _hopping_elements(text: _Text, start: int, data: np.ndarray, nw: int, nrpts: int, ndegen: list[int], *,
                      every: bool) -> tuple[np.ndarray, np.ndarray]:
    """The element lines ``R1 R2 R3 m n Re Im`` (``data`` from :func:`_number_block` at line index
    ``start``) as (R (n_R, 3) in order of first appearance, stored H (n_R, nw, nw), elements not
    listed zero).  ``every``: the lines list every element of nrpts R vectors (``_hr.dat``);
    otherwise (sparse HmnR) fewer than nrpts R vectors are accepted when the degeneracies are
    all equal."""
    ints = _integer_columns(text, start, data, slice(0, 5), "R and Wannier function indices")
    mn = ints[:, 3:5]
    bad = np.flatnonzero(((mn < 1) | (mn > nw)).any(axis=1))
    if bad.size:
        i = int(bad[0])
        text.fail(start + i + 1, f"Wannier function index out of range 1..{nw}: {_excerpt(text.lines[start + i])}")
    uniq, first, inverse = np.unique(ints[:, :3], axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n_R = len(uniq)
    if n_R > nrpts or (every and n_R < nrpts):
        text.fail(None, f"the header declares nrpts = {nrpts} but the element lines have {n_R} distinct R vectors")
    if n_R < nrpts and len(set(ndegen)) > 1:
        text.fail(None, f"the header declares nrpts = {nrpts} with unequal degeneracies but the element lines "
                        f"have only {n_R} distinct R vectors: which degeneracy belongs to which R is unknown")
    order = np.argsort(first)  # R in order of first appearance (the order of the degeneracies)
    rank = np.empty_like(order)
    rank[order] = np.arange(n_R)
    flat = (rank[inverse] * nw + (mn[:, 0] - 1)) * nw + (mn[:, 1] - 1)
    counts = np.bincount(flat, minlength=n_R * nw * nw)
    if (counts > 1).any():
        dup = int(np.flatnonzero(counts[flat] > 1)[1])  # the second occurrence
        text.fail(start + dup + 1, f"matrix element given twice: {_excerpt(text.lines[start + dup])}")
    H = np.zeros(n_R * nw * nw, dtype=complex)
    H[flat] = data[:, 5] + 1j * data[:, 6]
    return uniq[order], H.reshape(n_R, nw, nw)


# -- _hr.dat -------------------------------------------------------------------------------------------

def read_hr_dat(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Read a Wannier90 ``seedname_hr.dat``: returns (R (nrpts, 3) in the order of the file, the
    stored H (nrpts, num_wann, num_wann) with H[r, m-1, n-1] from the line ``R m n Re Im``, the
    degeneracies ndegen (nrpts,), the header line).  The Bloch sum takes H[r] / ndegen[r].

    Nothing of the file is quoted in a message before its header (num_wann, nrpts, degeneracies)
    has been read as a Wannier90 header: the path may name any file.
    """
    text = _Text(path, "_hr.dat")
    if not text.lines:
        text.fail(None, "the file is empty")
    nw = text.positive(1, "number of Wannier functions (num_wann)")
    nrpts = text.positive(2, "number of R points (nrpts)")
    ndegen, idx = text.degeneracies(3, nrpts)
    data = _number_block(text, idx, nrpts * nw * nw, 7, "'R1 R2 R3 m n Re Im'",
                         to_end=f"nrpts * num_wann^2 = {nrpts} * {nw}^2")
    R, H = _hopping_elements(text, idx, data, nw, nrpts, ndegen, every=True)
    return R, H, np.asarray(ndegen, dtype=np.int64), text.lines[0].strip()


# -- _wsvec.dat ----------------------------------------------------------------------------------------

class WsvecInfo(NamedTuple):
    """What a ``_wsvec.dat`` did: ``path``, ``applied`` (False for a file that only records
    shifts already folded into the ``_hr.dat``), ``n_shifted`` elements moved or split (some
    T != 0), ``n_elements``, ``max_images`` (largest N_mnR)."""

    path: str
    applied: bool
    n_shifted: int
    n_elements: int
    max_images: int


def wsvec_path_for(path) -> Path:
    """``seed_wsvec.dat`` beside ``seed_hr.dat`` / ``seed_tb.dat`` (whether or not it exists)."""
    path = Path(path)
    name = path.name
    for suffix in ("_hr.dat", "_tb.dat"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)] + "_wsvec.dat")
    return path.with_name(path.stem + "_wsvec.dat")


def apply_wsvec(R: np.ndarray, H: np.ndarray, ndegen: np.ndarray, path) -> tuple[np.ndarray, np.ndarray, WsvecInfo]:
    """The effective hoppings of ``_hr.dat`` data (R (n_R, 3), stored H (n_R, n, n), ndegen)
    with the MDRS shifts of the ``_wsvec.dat`` at ``path``: returns (R', H', info) with
    H'(R') = sum over (R, T) with R + T = R' of H(R) / (ndegen(R) N_mnR), elementwise.

    Every element (R, m, n) of the ``_hr.dat`` must have exactly one entry in the file, and the
    file no other; each entry has N >= 1 integer shift vectors.
    """
    text = _Text(path, "_wsvec.dat")
    lines = text.lines
    nR, nw = H.shape[0], H.shape[1]
    if not lines:
        text.fail(None, "the file is empty")
    header = lines[0]
    if "write_ndegen_applied=.true." in header.replace(" ", "").lower():
        info = WsvecInfo(str(path), False, 0, nR * nw * nw, 1)
        return R, H / ndegen[:, None, None], info
    # a well-formed file is parsed with numpy; anything irregular goes through the line-by-line
    # parser, which names the line
    parsed = _parse_wsvec_fast(text, R, nw)
    if parsed is None:
        parsed = _parse_wsvec_lines(text, R, nw)
    src_r, src_m, src_n, shifts, weights, n_shifted, max_images = parsed
    target = R[src_r] + shifts
    K = int(np.abs(target).max(initial=0)) + 1
    B = 2 * K + 1
    ukeys, inverse = np.unique(_r_keys(target, K), return_inverse=True)  # 1D keys: faster than rows
    inverse = inverse.ravel()
    uniq = np.stack([ukeys // (B * B), (ukeys // B) % B, ukeys % B], axis=1) - K
    Hd = H / ndegen[:, None, None]
    vals = Hd[src_r, src_m, src_n] * weights
    out = np.zeros((len(uniq), nw, nw), dtype=complex)
    np.add.at(out, (inverse, src_m, src_n), vals)
    info = WsvecInfo(str(path), True, int(n_shifted), int(nR * nw * nw), int(max_images))
    return uniq, out, info


def _r_keys(R: np.ndarray, K: int) -> np.ndarray:
    R = np.asarray(R, dtype=np.int64) + K
    return (R[:, 0] * (2 * K + 1) + R[:, 1]) * (2 * K + 1) + R[:, 2]


def _parse_wsvec_fast(text: _Text, R: np.ndarray, nw: int):
    """The entries of a regular _wsvec.dat as arrays, or None if anything is off."""
    import warnings

    body = "\n".join(text.lines[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            flat = np.fromstring(body, dtype=np.int64, sep=" ")  # stops at the first non-integer
        except ValueError:
            return None
    n_entries = len(R) * nw * nw
    vals = flat.tolist()
    starts = np.empty(n_entries, dtype=np.int64)
    p, total = 0, len(vals)
    for e in range(n_entries):
        if p + 6 > total:
            return None
        nT = vals[p + 5]
        if nT < 1:
            return None
        starts[e] = p
        p += 6 + 3 * nT
    if p != total or len(body.split()) != total:
        return None
    keys = flat[starts[:, None] + np.arange(5)]
    nTs = flat[starts + 5]
    K = int(max(np.abs(R).max(initial=0), np.abs(keys[:, :3]).max(initial=0))) + 1
    hr_keys = _r_keys(R, K)
    order = np.argsort(hr_keys)
    found = _r_keys(keys[:, :3], K)
    pos = np.searchsorted(hr_keys[order], found)
    pos = np.minimum(pos, len(order) - 1)
    if not np.array_equal(hr_keys[order][pos], found):
        return None
    r = order[pos]
    m, n = keys[:, 3] - 1, keys[:, 4] - 1
    if ((m < 0) | (m >= nw) | (n < 0) | (n >= nw)).any():
        return None
    if not (np.bincount((r * nw + m) * nw + n, minlength=n_entries) == 1).all():
        return None
    entry = np.repeat(np.arange(n_entries), nTs)
    offset = np.arange(len(entry)) - np.repeat(np.cumsum(nTs) - nTs, nTs)
    T = flat[(starts[entry] + 6 + 3 * offset)[:, None] + np.arange(3)]
    moved = np.zeros(n_entries, dtype=bool)
    np.logical_or.at(moved, entry, (T != 0).any(axis=1))
    return (r[entry], m[entry], n[entry], T, 1.0 / nTs[entry], int(moved.sum()), int(nTs.max(initial=1)))


def _parse_wsvec_lines(text: _Text, R: np.ndarray, nw: int):
    """The entries of a _wsvec.dat line by line, with an error naming the line for anything wrong."""
    lines = text.lines
    nR = len(R)
    R_index = {tuple(int(x) for x in r): i for i, r in enumerate(R)}
    seen = np.zeros((nR, nw, nw), dtype=bool)
    src_r, src_m, src_n, shifts, weights = [], [], [], [], []
    n_shifted = 0
    max_images = 1
    idx = 1
    n_lines = len(lines)
    while idx < n_lines:
        line = lines[idx]
        tok = line.split()
        if not tok:
            idx += 1
            continue
        if len(tok) != 5:
            text.fail(idx + 1, f"expected an entry 'R1 R2 R3 m n' (5 integers), got {len(tok)} fields: "
                               f"{_excerpt(line)}")
        try:
            r1, r2, r3, m, n = (int(t) for t in tok)
        except ValueError:
            text.fail(idx + 1, f"entry 'R1 R2 R3 m n' is not 5 integers: {_excerpt(line)}")
        r = R_index.get((r1, r2, r3))
        if r is None:
            text.fail(idx + 1, f"R = ({r1}, {r2}, {r3}) is not an R vector of the _hr.dat "
                               "(inconsistent files: is this the _wsvec.dat of that _hr.dat?)")
        if not (1 <= m <= nw and 1 <= n <= nw):
            text.fail(idx + 1, f"Wannier function index out of range 1..{nw} (the _hr.dat has num_wann = "
                               f"{nw}): {_excerpt(line)}")
        if seen[r, m - 1, n - 1]:
            text.fail(idx + 1, f"entry given twice: {_excerpt(line)}")
        seen[r, m - 1, n - 1] = True
        if idx + 1 >= n_lines:
            text.fail(idx + 2, "file ends before the number of shift vectors (truncated)")
        cnt = lines[idx + 1].split()
        try:
            if len(cnt) != 1:
                raise ValueError
            nT = int(cnt[0])
        except ValueError:
            text.fail(idx + 2, f"expected the number of shift vectors (one integer): {_excerpt(lines[idx + 1])}")
        if nT < 1:
            text.fail(idx + 2, f"number of shift vectors must be >= 1, got {nT}")
        if idx + 2 + nT > n_lines:
            text.fail(n_lines, f"file ends inside the {nT} shift vectors of entry {_excerpt(line)} (truncated)")
        moved = False
        for j in range(idx + 2, idx + 2 + nT):
            tj = lines[j].split()
            try:
                if len(tj) != 3:
                    raise ValueError
                T = tuple(int(t) for t in tj)
            except ValueError:
                text.fail(j + 1, f"expected a shift vector 'T1 T2 T3' (3 integers): {_excerpt(lines[j])}")
            src_r.append(r)
            src_m.append(m - 1)
            src_n.append(n - 1)
            shifts.append(T)
            weights.append(1.0 / nT)
            moved = moved or T != (0, 0, 0)
        n_shifted += moved
        max_images = max(max_images, nT)
        idx += 2 + nT
    missing = np.argwhere(~seen)
    if missing.size:
        r, m, n = (int(x) for x in missing[0])
        text.fail(None, f"no entry for R = {tuple(int(x) for x in R[r])}, m = {m + 1}, n = {n + 1} "
                        f"({len(missing)} of {seen.size} elements of the _hr.dat missing: truncated, or the "
                        "_wsvec.dat of another _hr.dat)")
    return (np.asarray(src_r), np.asarray(src_m), np.asarray(src_n), np.asarray(shifts, dtype=np.int64).reshape(-1, 3),
            np.asarray(weights), int(n_shifted), int(max_images))


# -- _tb.dat --------------------------------------------------------------------------------------------

class TbDat(NamedTuple):
    lattice: np.ndarray  # (3, 3) rows, Angstrom
    R: np.ndarray  # (n_R, 3)
    H: np.ndarray  # (n_R, n, n) stored (divide by ndegen)
    ndegen: np.ndarray
    centres: np.ndarray  # (n, 3) Cartesian Angstrom: Re <0n| r |0n>


def read_tb_dat(path) -> TbDat:
    """Read a Wannier90 ``seedname_tb.dat``: header, three lattice vectors (Angstrom), num_wann,
    nrpts, degeneracies (15 per line), then for each R a blank line, ``R1 R2 R3`` and num_wann^2
    lines ``m n Re Im`` (H_mn(R)), then the same blocks with ``m n Re x Im x Re y Im y Re z Im z``
    (<0m| r |Rn>)."""
    text = _Text(path, "_tb.dat")
    if not text.lines:
        text.fail(None, "the file is empty")
    lat = np.array([text.floats(i, 3, f"lattice vector a{i}") for i in (1, 2, 3)])
    nw = text.positive(4, "number of Wannier functions (num_wann)")
    nrpts = text.positive(5, "number of R points (nrpts)")
    ndegen, idx = text.degeneracies(6, nrpts)
    lines = text.lines

    def blocks(idx: int, n_cols: int, what: str):
        Rs, datas = [], []
        for b in range(nrpts):
            while idx < len(lines) and not lines[idx].strip():
                idx += 1
            r = text.ints(idx, 3, f"R vector of {what} block {b + 1} of {nrpts}")
            data = _number_block(text, idx + 1, nw * nw, n_cols, f"'m n' and {what} values")
            mn = _integer_columns(text, idx + 1, data, slice(0, 2), "Wannier function indices")
            bad = np.flatnonzero(((mn < 1) | (mn > nw)).any(axis=1))
            if bad.size:
                text.fail(idx + 2 + int(bad[0]), f"Wannier function index out of range 1..{nw}: "
                                                 f"{_excerpt(lines[idx + 1 + int(bad[0])])}")
            flat = (mn[:, 0] - 1) * nw + (mn[:, 1] - 1)
            counts = np.bincount(flat, minlength=nw * nw)
            if (counts != 1).any():
                dup = int(np.flatnonzero(counts[flat] > 1)[1])
                text.fail(idx + 2 + dup, f"matrix element given twice: {_excerpt(lines[idx + 1 + dup])}")
            vals = np.zeros((nw * nw, data.shape[1] - 2))
            vals[flat] = data[:, 2:]
            Rs.append(r)
            datas.append(vals.reshape(nw, nw, -1))
            idx += 1 + nw * nw
        return np.array(Rs, dtype=np.int64), np.array(datas), idx

    R, hdata, idx = blocks(idx, 4, "H")
    if len({tuple(r) for r in R}) != nrpts:
        text.fail(None, f"the {nrpts} H blocks do not have distinct R vectors")
    H = hdata[..., 0] + 1j * hdata[..., 1]
    Rr, rdata, idx = blocks(idx, 8, "position")
    if not np.array_equal(Rr, R):
        text.fail(None, "the position blocks do not list the R vectors of the H blocks in the same order")
    rest = [i for i in range(idx, len(lines)) if lines[i].strip()]
    if rest:
        text.fail(rest[0] + 1, f"{len(rest)} extra line(s) after the position blocks")
    zero = np.flatnonzero((R == 0).all(axis=1))
    if zero.size != 1:
        text.fail(None, "no R = (0, 0, 0) block: the Wannier centres are not defined")
    diag = rdata[zero[0]][np.arange(nw), np.arange(nw)]  # (nw, 6)
    centres = diag[:, 0::2]
    return TbDat(lattice=lat, R=R, H=H, ndegen=np.asarray(ndegen, dtype=np.int64), centres=centres)


# -- sparse HmnR ----------------------------------------------------------------------------------------

def read_sparse_hr(path):
    """Read a WannierTools sparse HmnR file: comment line, number of element lines, num_wann,
    nrpts, nrpts degeneracies, then the element lines ``R1 R2 R3 m n Re Im`` (missing elements
    are zero).  Returns (R (n_R, 3), H (n_R, n, n) stored, ndegen (n_R,)), R in order of first
    appearance (the order of the degeneracies)."""
    text = _Text(path, "sparse HmnR")
    if not text.lines:
        text.fail(None, "the file is empty")
    nlines = text.positive(1, "number of element lines")
    nw = text.positive(2, "number of Wannier functions (num_wann)")
    nrpts = text.positive(3, "number of R points (nrpts)")
    ndegen, idx = text.degeneracies(4, nrpts)
    data = _number_block(text, idx, nlines, 7, "'R1 R2 R3 m n Re Im'", to_end="the count on line 2")
    R, H = _hopping_elements(text, idx, data, nw, nrpts, ndegen, every=False)
    return R, H, np.asarray(ndegen[: len(R)], dtype=np.int64)


def write_sparse_hr(path, R, H, ndegen=None, *, header: str = "sparse HmnR written by magcore", drop_tol=0.0):
    """Write (R, stored H, ndegen) in the WannierTools sparse HmnR format (elements with
    |H| <= drop_tol left out; R = 0 diagonal always written)."""
    R = np.asarray(R, dtype=np.int64)
    H = np.asarray(H, dtype=complex)
    ndegen = np.ones(len(R), np.int64) if ndegen is None else np.asarray(ndegen, dtype=np.int64)
    R3 = np.zeros((len(R), 3), np.int64)
    R3[:, : R.shape[1]] = R
    rows = []
    for r, h in zip(R3, H):
        for n in range(h.shape[1]):
            for m in range(h.shape[0]):
                v = h[m, n]
                if abs(v) > drop_tol or (m == n and not r.any()):
                    rows.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{m + 1:5d}{n + 1:5d} {v.real: .16e} {v.imag: .16e}")
    out = [header, f"{len(rows):10d}", f"{H.shape[1]:10d}", f"{len(R3):10d}"]
    out += ["".join(f"{d:5d}" for d in ndegen[s:s + 15]) for s in range(0, len(ndegen), 15)]
    Path(path).write_text("\n".join(out + rows) + "\n")
    return Path(path)


# -- .win -------------------------------------------------------------------------------------------------

class Win(NamedTuple):
    lattice: np.ndarray | None  # (3, 3) Angstrom
    atoms: list[tuple[str, np.ndarray]]  # (symbol, Cartesian Angstrom)
    fermi_energy: float | None
    num_wann: int | None
    spinors: bool | None
    projections: list[str]


_SPLIT = re.compile(r"[\t :=]+")


def read_win(path) -> Win:
    """Read the parts of a Wannier90 ``.win`` that define the model's cell and sites."""
    text = _Text(path, ".win")
    entries: dict[str, tuple[int, Any]] = {}
    lines = [(i, re.split(r"[!#]", line, maxsplit=1)[0].strip()) for i, line in enumerate(text.lines)]
    lines = [(i, line) for i, line in lines if line]
    k = 0
    while k < len(lines):
        i, line = lines[k]
        low = line.lower()
        if low.startswith("begin"):
            key = _SPLIT.split(low[5:].strip(" :="), maxsplit=1)[0]
            block = []
            k += 1
            while True:
                if k >= len(lines):
                    text.fail(i + 1, f"block '{key}' has no 'end {key}' (truncated)")
                j, inner = lines[k]
                if inner.lower().startswith("end"):
                    end_key = _SPLIT.split(inner.lower()[3:].strip(" :="), maxsplit=1)[0]
                    if end_key != key:
                        text.fail(j + 1, f"block '{key}' ends with 'end {end_key}'")
                    break
                block.append((j, inner))
                k += 1
            entries[key] = (i, block)
        else:
            parts = _SPLIT.split(line, maxsplit=1)
            entries[parts[0].lower()] = (i, parts[1].strip() if len(parts) > 1 else "")
        k += 1

    def unit_factor(block, default="ang"):
        if block and len(block[0][1].split()) == 1:
            unit = block[0][1].lower()
            if unit not in ("ang", "bohr"):
                text.fail(block[0][0] + 1, f"unknown length unit {_excerpt(block[0][1], 12)} (ang or bohr)")
            return (BOHR_ANGSTROM if unit == "bohr" else 1.0), block[1:]
        return (BOHR_ANGSTROM if default == "bohr" else 1.0), block

    def number_rows(block, n_cols, what, skip_first=False):
        out = []
        for j, line in block:
            tok = line.split()
            tok = tok[1:] if skip_first else tok
            try:
                vals = [float(t.replace("D", "E").replace("d", "e")) for t in tok]
            except ValueError:
                text.fail(j + 1, f"{what}: expected numbers: {_excerpt(line)}")
            if len(vals) != n_cols or not all(np.isfinite(vals)):
                text.fail(j + 1, f"{what}: expected {n_cols} finite numbers: {_excerpt(line)}")
            out.append(vals)
        return np.array(out)

    length_unit = entries.get("length_unit", (0, "ang"))[1].lower() or "ang"
    lattice = None
    if "unit_cell_cart" in entries:
        i, block = entries["unit_cell_cart"]
        fac, rows = unit_factor(block, length_unit)
        lattice = number_rows(rows, 3, "unit_cell_cart") * fac
        if lattice.shape != (3, 3):
            text.fail(i + 1, f"unit_cell_cart must have 3 rows of 3 numbers, got {len(rows)} rows")
    atoms: list[tuple[str, np.ndarray]] = []
    if "atoms_cart" in entries:
        i, block = entries["atoms_cart"]
        fac, rows = unit_factor(block, length_unit)
        xyz = number_rows(rows, 3, "atoms_cart", skip_first=True) * fac
        atoms = [(line.split()[0], x) for (j, line), x in zip(rows, xyz)]
    elif "atoms_frac" in entries:
        i, block = entries["atoms_frac"]
        if lattice is None:
            text.fail(i + 1, "atoms_frac needs unit_cell_cart")
        frac = number_rows(block, 3, "atoms_frac", skip_first=True)
        atoms = [(line.split()[0], f @ lattice) for (j, line), f in zip(block, frac)]
    fermi = None
    if "fermi_energy" in entries:
        i, val = entries["fermi_energy"]
        try:
            fermi = float(val.split()[0].replace("D", "E").replace("d", "e"))
        except (ValueError, IndexError):
            text.fail(i + 1, "fermi_energy is not a number")
        if not np.isfinite(fermi):
            text.fail(i + 1, "fermi_energy is not finite")
        if len(val.split()) > 1 and val.split()[1].lower() not in ("ev",):
            text.fail(i + 1, f"fermi_energy unit {_excerpt(val.split()[1], 8)}: only eV is read")
    num_wann = None
    if "num_wann" in entries:
        i, val = entries["num_wann"]
        try:
            num_wann = int(val)
        except ValueError:
            text.fail(i + 1, "num_wann is not an integer")
    spinors = None
    if "spinors" in entries:
        spinors = entries["spinors"][1].lower().strip(".") in ("true", "t")
    projections = [line for _, line in entries.get("projections", (0, []))[1]] \
        if isinstance(entries.get("projections", (0, []))[1], list) else []
    return Win(lattice=lattice, atoms=atoms, fermi_energy=fermi, num_wann=num_wann, spinors=spinors,
               projections=projections)


# -- .win projections -------------------------------------------------------------------------------------

_NAMED = {"s": 1, "p": 3, "d": 5, "f": 7, "sp": 2, "sp2": 3, "sp3": 4, "sp3d": 5, "sp3d2": 6}
_SINGLE = {"pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy", "fz3", "fxz2", "fyz2", "fz(x2-y2)",
           "fxyz", "fx(x2-3y2)", "fy(3x2-y2)"}
_L_COUNT = {0: 1, 1: 3, 2: 5, 3: 7, -1: 2, -2: 3, -3: 4, -4: 5, -5: 6}


def _angular_count(token: str) -> int | None:
    """Number of functions of one angular part of a projection ('d', 'pz', 'l=2,mr=1,3', 'sp3-1')."""
    tok = token.strip().lower().replace(" ", "")
    if tok in _NAMED:
        return _NAMED[tok]
    if tok in _SINGLE or re.fullmatch(r"sp[23]?(d2?)?-\d", tok):
        return 1
    mt = re.fullmatch(r"l=(-?\d+)(?:,mr=([\d,]+))?", tok)
    if mt and int(mt.group(1)) in _L_COUNT:
        return len([x for x in mt.group(2).split(",") if x]) if mt.group(2) else _L_COUNT[int(mt.group(1))]
    return None


def projection_atoms(win: "Win", path=None) -> list[int | None] | None:
    """The atom (index into ``win.atoms``) of every Wannier function from the .win projections, in
    Wannier90's order (projection lines in turn, the atoms of a species in the order of the atoms
    block, the angular functions of a line in turn, and with spinors both spin states of each
    function in a row); None for a function centred off the atoms (``f=`` / ``c=`` sites).
    Returns None when the projections are not given or not understood (``random``, an unknown
    angular name)."""
    if not win.projections:
        return None
    out: list[int | None] = []
    for line in win.projections:
        parts = [p.strip() for p in line.split(":")]
        if len(parts) < 2 or parts[0].lower() == "random":
            return None
        site, ang = parts[0], parts[1]
        spin_given = "(" in ang
        ang = re.sub(r"\([^)]*\)", "", ang)
        counts = [_angular_count(t) for t in ang.split(";") if t.strip()]
        if not counts or any(c is None for c in counts):
            return None
        per_site = sum(counts) * (2 if win.spinors and not spin_given else 1)
        if site.lower().startswith(("f=", "c=")):
            atoms = [None]
        else:
            atoms = [i for i, (sym, _) in enumerate(win.atoms) if sym.lower() == site.lower()]
            if not atoms:
                return None
        for a in atoms:
            out += [a] * per_site
    return out


# -- _centres.xyz -------------------------------------------------------------------------------------------

def read_centres_xyz(path, num_wann: int | None = None) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Read ``seedname_centres.xyz``: count line, comment, then ``X x y z`` per Wannier function
    and ``Symbol x y z`` per atom (Angstrom).  Returns (centres (n, 3), atoms)."""
    text = _Text(path, "_centres.xyz")
    count = text.positive(0, "number of entries")
    rows = text.lines[2:]
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != count:
        text.fail(min(len(text.lines), 3 + count), f"the first line declares {count} entries, the file has "
                                                   f"{len(rows)}")
    centres, atoms = [], []
    for i, line in enumerate(rows):
        tok = line.split()
        if len(tok) != 4:
            text.fail(i + 3, f"expected 'Symbol x y z', got {len(tok)} fields: {_excerpt(line)}")
        try:
            xyz = np.array([float(t) for t in tok[1:]])
        except ValueError:
            text.fail(i + 3, f"coordinates are not numbers: {_excerpt(line)}")
        if not np.all(np.isfinite(xyz)):
            text.fail(i + 3, f"non-finite coordinate: {_excerpt(line)}")
        if tok[0] == "X":
            if atoms:
                text.fail(i + 3, "a Wannier centre (X) after the atoms")
            centres.append(xyz)
        else:
            atoms.append((tok[0], xyz))
    if num_wann is not None and len(centres) != num_wann:
        text.fail(None, f"{len(centres)} Wannier centres (X lines) but the model has num_wann = {num_wann}")
    return np.array(centres).reshape(-1, 3), atoms


# -- Fermi energy from a DFT output or a .win -----------------------------------------------------------------

def read_fermi_energy(path) -> tuple[float, str]:
    """A Fermi energy (eV) from a Quantum ESPRESSO output, a VASP OUTCAR / vasprun.xml or a
    Wannier90 .win; returns (value, what was read).  The last occurrence counts (a relaxation
    prints several)."""
    text = _Text(path, "Fermi-energy")
    found: tuple[float, str] | None = None
    num = r"([-+]?\d+\.?\d*(?:[eEdD][-+]?\d+)?)"
    patterns = [
        (re.compile(r"the Fermi energy is\s+" + num + r"\s*ev", re.I), "'the Fermi energy is'"),
        (re.compile(r"highest occupied, lowest unoccupied level \(ev\):\s+" + num + r"\s+" + num, re.I),
         "mid-gap of 'highest occupied, lowest unoccupied level'"),
        (re.compile(r"highest occupied level \(ev\):\s+" + num, re.I), "'highest occupied level'"),
        (re.compile(r"E-fermi\s*:\s*" + num), "'E-fermi'"),
        (re.compile(r"<i name=\"efermi\">\s*" + num + r"\s*</i>"), "'efermi'"),
        (re.compile(r"^\s*fermi_energy\s*[=:\s]\s*" + num, re.I), "'fermi_energy'"),
    ]
    spin_split = re.compile(r"the spin up/dw Fermi energies are", re.I)
    for i, line in enumerate(text.lines):
        if spin_split.search(line):
            text.fail(i + 1, "two Fermi energies (spin up/down): give model.source.fermi_energy as a number or "
                             "electrons.chemical_potential")
        for pat, what in patterns:
            mt = pat.search(line)
            if mt:
                vals = [float(g.replace("D", "E").replace("d", "e")) for g in mt.groups()]
                found = (float(np.mean(vals)), f"{what}, line {i + 1}")
                break
    if found is None:
        text.fail(None, "no Fermi energy found (looked for Quantum ESPRESSO 'the Fermi energy is', 'highest "
                        "occupied[, lowest unoccupied] level', VASP 'E-fermi' / 'efermi', Wannier90 'fermi_energy')")
    if not np.isfinite(found[0]):
        text.fail(None, "the Fermi energy is not finite")
    return found


__all__ = [
    "TbDat",
    "Win",
    "WsvecInfo",
    "apply_wsvec",
    "projection_atoms",
    "read_centres_xyz",
    "read_fermi_energy",
    "read_hr_dat",
    "read_sparse_hr",
    "read_tb_dat",
    "read_win",
    "wsvec_path_for",
    "write_sparse_hr",
]
