"""Users' own lattice models: PythTB-style hopping lists and Wannier90 ``seedname_hr.dat`` files.

A :class:`TightBindingModel` is data: lattice vectors, orbital positions, real-space hopping
matrices H(R) = <phi_{i,0}| H |phi_{j,R}> and a spin structure on which the exchange term
J m . s is added.  It is registered as the model ``tight_binding``.

Bloch convention (orbital positions in the phase, as in PythTB)
---------------------------------------------------------------
    H_ij(k; m) = sum_R H_ij(R) exp(i k . (R + tau_j - tau_i)) + J sum_a m_a S^a_ij ,

with R and tau = (fractional position) @ lattice_vectors in Cartesian coordinates and k Cartesian
(1 / length_unit, as produced by :func:`magcore.kmesh.bz_mesh`).  This is the basis of Bloch
sums sum_R e^{i k.(R + tau_j)} |phi_{j,R}>, whose cell-periodic parts carry the intra-cell
positions, so k-space Berry curvatures (and the mixed k-m curvatures) are position-aware.  It is
the convention PythTB uses (tau in the phase; the PythTB notes on the tight-binding formalism by
Yusufaly, Vanderbilt and Coh describe both choices and number them; the formula above is what
counts).  dH/dk is the analytic derivative of exactly this expression, including the
i (tau_j - tau_i) term.  Eigenvalues do not depend on the positions;
H itself is periodic in k only up to the k-independent unitary diag(e^{i G . tau}):
H(k + G) = D_G^dagger H(k) D_G.  With all positions zero (the default, and what a Wannier90
``_hr.dat`` alone implies) H(k + G) = H(k), the gauge that the link methods of
:mod:`magcore.topology` assume.

Spin structure (``spin``)
-------------------------
* ``"none"``: spinless; the magnetization does not couple (J must be 0, dH/dm = 0 and the spin
  operators are zero).
* ``"outer"``: basis index = s * n_orb + a (spin (x) orbital, as the ``tmd`` model),
  S^a = s_a (x) I_{n_orb}.
* ``"inner"``: basis index = 2 a + s (orbital (x) spin, as PythTB with nspin = 2 and Wannier90
  spinor projections), S^a = I_{n_orb} (x) s_a.
* ``"auto"`` (spinful matrix input only): whichever of outer / inner the hoppings are
  time-reversal symmetric in (see below).
* an array (3, n, n) of Hermitian spin operators (Pauli units) for any other basis; the input
  Hamiltonian is then taken as given (no doubling).

The exchange term is J m . S, so dH/dm_a = J S^a (J in ``energy_unit``, m dimensionless).

*Hopping lists* are always written in terms of spatial orbitals (PythTB style): with spin
``"outer"``/``"inner"`` the model has n = 2 n_orb bands, a scalar amplitude t means t s_0, and an
amplitude may instead be a 2 x 2 spin matrix or four Pauli coefficients (a_0, a_x, a_y, a_z)
= a_0 s_0 + a . s (spin-orbit coupling).  On-site terms likewise (real scalar, or a Hermitian
2 x 2 matrix / four real Pauli coefficients).  Each ``(amp, i, j, R)`` sets
H_ij(R) += amp and adds the Hermitian conjugate H_ji(-R) += amp^dagger automatically; giving a
bond and its conjugate both, the same bond twice, or an on-site term (i == j, R = 0) as a hop is
an error.

*Matrix input* ({R: H_R} as Wannier90 / TBmodels store it, or a ``_hr.dat`` file) gives the full
hopping matrices, which must satisfy H(-R) = H(R)^dagger.  With spin ``"outer"``/``"inner"`` the
caller must say whether they are already spinful (``spinful=True``: n = 2 n_orb in the declared
ordering, may contain spin-orbit coupling) or spinless (``spinful=False``: the model is
s_0 (x) H, resp. H (x) s_0).

Wannier90 ``_hr.dat``: header line, num_wann, nrpts, nrpts Wigner-Seitz degeneracies (15 per
line), then nrpts * num_wann^2 lines ``R1 R2 R3 m n Re Im`` = H_mn(R) (m, n from 1).  The Bloch
sum divides each H(R) by its degeneracy.  Lattice vectors are not in the file: given, or read
from ``seed_tb.dat`` or ``seed.win``.  The other files of the seed (:mod:`magcore.models.wannier90`)
are read by the config-style ``source`` mapping: ``seed_wsvec.dat`` beside the ``_hr.dat`` /
``_tb.dat`` is always applied (Wannier90 >= 3.0 MDRS), ``seed.win`` and ``seed_centres.xyz``
give the lattice, atoms, projections and Wannier centres.

Options of user files (``source`` keys, also constructor arguments where they are not files):

* ``spin: auto`` (spinful matrix input): outer or inner by the time-reversal check at J = 0,
  :func:`time_reversal_asymmetry`; a declared ordering that fails it is an error giving both.
* ``time_reversal: symmetrize``: H(R) -> (H(R) + Theta H(R) Theta^-1) / 2.  The asymmetry of the
  input is measured either way (:meth:`TightBindingModel.store_attrs`).
* ``exchange``: per-orbital J on selected orbitals (by index, atom or place) instead of J on all.
* ``dimension: 2``: a 3D file with a1, a2 in the xy plane and a3 along z folded to k_z = 0.
* ``fermi_energy``: a number or a file (QE output, VASP OUTCAR / vasprun.xml, a .win); the study
  configuration makes it the chemical potential when none is given.

Units: ``length_unit`` (default Angstrom) for lattice vectors, ``energy_unit`` (default eV) for
all energies; k in 1 / length_unit.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np

from . import register
from .base import PAULI, Model, Parameter, broadcast_km
from .bloch_grid import MIN_POINTS, bloch_on_grid
from .wannier90 import _excerpt, read_hr_dat

_SPIN_CHOICES = ("none", "outer", "inner", "auto")
_TR_CHOICES = ("keep", "symmetrize")
# a declared spin ordering fails the time-reversal check when the other ordering is this many
# times more symmetric; spin: auto needs the same margin to decide
SPIN_ORDER_MARGIN = 10.0

log = logging.getLogger(__name__)


class WannierHR(NamedTuple):
    """Real-space hopping matrices in the Wannier90 storage form.

    ``R`` (n_R, d) integer lattice vectors (fractional), ``H`` (n_R, n, n) complex stored matrices,
    ``ndegen`` (n_R,) positive Wigner-Seitz degeneracies: the hopping that enters the Bloch sum is
    ``H[r] / ndegen[r]``.  ``header`` is the first line of the file (free text).
    """

    R: np.ndarray
    H: np.ndarray
    ndegen: np.ndarray
    header: str = ""

    def as_dict(self) -> dict[tuple[int, ...], np.ndarray]:
        """{R: H(R) / ndegen(R)}: the effective hoppings."""
        return {tuple(int(x) for x in r): h / d for r, h, d in zip(self.R, self.H, self.ndegen)}


# -- Wannier90 _hr.dat -----------------------------------------------------------------------------

def read_wannier90_hr(path: str | Path) -> WannierHR:
    """Read a Wannier90 ``seedname_hr.dat`` file (:func:`magcore.models.wannier90.read_hr_dat`).

    Returns a :class:`WannierHR` with ``R`` (nrpts, 3), the stored ``H`` (nrpts, num_wann,
    num_wann) (H[r, m-1, n-1] from the line ``R m n Re Im``), the degeneracies and the header.
    Divide ``H`` by ``ndegen`` (or use :meth:`WannierHR.as_dict`) for the Bloch sum.

    Raises ``FileNotFoundError`` naming the path if it does not exist, and ``ValueError`` naming
    the path and line for a truncated or garbled file (wrong counts, non-numbers, indices out of
    range, a matrix element given twice or missing) or one that is not text.  The messages
    quote nothing of the file before its header (num_wann, nrpts, degeneracies) has been read
    as a Wannier90 header, and afterwards at most a short excerpt of the offending line,
    printable ASCII only: the path may name any file.
    """
    return WannierHR(*read_hr_dat(path))


def write_wannier90_hr(path: str | Path, R, H=None, ndegen=None, *, header: str | None = None) -> Path:
    """Write hopping matrices as a Wannier90 ``seedname_hr.dat`` file.

    ``R`` may be a :class:`WannierHR` (then ``H`` and ``ndegen`` come from it), a dict {R: H(R)}
    of effective hoppings (degeneracies 1), or an integer array (n_R, d) with ``H`` (n_R, n, n)
    the stored matrices and ``ndegen`` (n_R,) (default all 1).  R vectors with d < 3 components
    are padded with zeros.  Numbers are written with 17 significant digits (the Wannier90 column
    layout with more precision), so a write/read round trip is exact to round-off.
    """
    if isinstance(R, WannierHR):
        if H is not None or ndegen is not None:
            raise TypeError("give either a WannierHR or (R, H, ndegen), not both")
        R, H, ndegen, hdr = R
        header = header if header is not None else hdr
    elif isinstance(R, Mapping):
        if H is not None or ndegen is not None:
            raise TypeError("give either a dict {R: H_R} or (R, H, ndegen), not both")
        items = list(R.items())
        R = np.array([np.atleast_1d(np.asarray(r, dtype=int)) for r, _ in items])
        H = np.array([np.asarray(h, dtype=complex) for _, h in items])
    R = np.asarray(R)
    H = np.asarray(H, dtype=complex)
    if R.ndim != 2 or not 1 <= R.shape[1] <= 3:
        raise ValueError(f"R must have shape (n_R, d) with d <= 3, got {R.shape}")
    if np.any(R != np.round(R)):
        raise ValueError("R vectors must be integers")
    R = np.round(R).astype(np.int64)
    if H.ndim != 3 or H.shape[0] != R.shape[0] or H.shape[1] != H.shape[2]:
        raise ValueError(f"H must have shape (n_R, n, n) with n_R = {R.shape[0]}, got {H.shape}")
    ndegen = np.ones(R.shape[0], dtype=np.int64) if ndegen is None else np.asarray(ndegen)
    if ndegen.shape != (R.shape[0],) or np.any(ndegen != np.round(ndegen)) or np.any(ndegen < 1):
        raise ValueError(f"ndegen must be {R.shape[0]} positive integers, got {ndegen!r}")
    if len({tuple(r) for r in R}) != len(R):
        raise ValueError("R vectors must be distinct")
    R3 = np.zeros((R.shape[0], 3), dtype=np.int64)
    R3[:, : R.shape[1]] = R
    n = H.shape[1]
    if header is None:
        header = "written by magcore.models.tight_binding"
    out = [header.replace("\n", " "), f"{n:12d}", f"{len(R3):12d}"]
    deg = [int(d) for d in ndegen]
    for s in range(0, len(deg), 15):
        out.append("".join(f"{d:5d}" for d in deg[s : s + 15]))
    mm, nn = np.meshgrid(np.arange(n), np.arange(n), indexing="xy")  # n outer, m inner
    mm, nn = mm.ravel(), nn.ravel()
    for r, h in zip(R3, H):
        pre = f"{r[0]:5d}{r[1]:5d}{r[2]:5d}"
        vals = h[mm, nn]
        out.extend(f"{pre}{m + 1:5d}{k + 1:5d} {v.real: .16e} {v.imag: .16e}"
                   for m, k, v in zip(mm, nn, vals))
    path = Path(path)
    path.write_text("\n".join(out) + "\n")
    return path


# -- input parsing helpers ---------------------------------------------------------------------------

def _complex(x, where: str) -> complex:
    """A complex number from a number, a string like '0.1+0.2j', or {re:, im:}."""
    if isinstance(x, Mapping):
        unknown = set(x) - {"re", "im"}
        if unknown:
            raise ValueError(f"{where}: a complex number mapping has keys re, im; got {sorted(x)}")
        return complex(float(x.get("re", 0.0)), float(x.get("im", 0.0)))
    if isinstance(x, str):
        try:
            return complex(x.replace(" ", "").replace("i", "j"))
        except ValueError:
            raise ValueError(f"{where}: cannot read {x!r} as a complex number") from None
    if isinstance(x, bool):
        raise TypeError(f"{where}: expected a number, got {x!r}")
    try:
        return complex(x)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected a number, got {x!r}") from None


def _amplitude(x, spinful: bool, where: str) -> np.ndarray:
    """A hopping or on-site amplitude as a 2 x 2 spin matrix (spinful) or a 1 x 1 matrix."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "biufc" and x.ndim > 0:
        arr = x.astype(complex)
    elif isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim > 0):
        arr = np.array(_nested_complex(x, where), dtype=complex)
    else:
        c = _complex(x.item() if isinstance(x, np.ndarray) else x, where)
        return c * (np.eye(2) if spinful else np.eye(1))
    if not spinful:
        raise ValueError(f"{where}: a matrix amplitude {arr.tolist()} needs a spinful model "
                         f"(spin 'outer' or 'inner'); this model's orbitals are spinless")
    if arr.shape == (4,):
        return np.einsum("a,aij->ij", arr, PAULI)
    if arr.shape == (2, 2):
        return arr
    raise ValueError(f"{where}: a spin-dependent amplitude must be a 2x2 matrix or four Pauli "
                     f"coefficients (a0, ax, ay, az), got shape {arr.shape}")


def _nested_complex(x, where):
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_nested_complex(v, where) for v in x]
    return _complex(x, where)


def _int_vector(R, dim: int, where: str) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(R))
    if arr.ndim != 1 or arr.dtype.kind not in "iuf" or np.any(arr != np.round(arr)):
        raise ValueError(f"{where}: R = {R!r} must be a vector of integers")
    arr = np.round(arr).astype(int)
    if len(arr) > dim:
        if len(arr) <= 3 and np.all(arr[dim:] == 0):
            arr = arr[:dim]
        else:
            raise ValueError(f"{where}: R = {arr.tolist()} has {len(arr)} components but the lattice is "
                             f"{dim}-dimensional (extra components must be 0)")
    if len(arr) != dim:
        raise ValueError(f"{where}: R = {arr.tolist()} must have {dim} components")
    return tuple(int(v) for v in arr)


def _parse_hop(entry, index: int):
    where = f"hopping #{index}"
    if isinstance(entry, Mapping):
        unknown = set(entry) - {"amp", "t", "i", "j", "R"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; a hopping is "
                             f"{{amp, i, j, R}} or [amp, i, j, R]")
        try:
            amp = entry["amp"] if "amp" in entry else entry["t"]
            return amp, entry["i"], entry["j"], entry["R"]
        except KeyError as exc:
            raise ValueError(f"{where}: missing key {exc.args[0]!r}; a hopping is {{amp, i, j, R}}") from None
    if isinstance(entry, (list, tuple)) and len(entry) == 4:
        return tuple(entry)
    raise ValueError(f"{where}: expected (amp, i, j, R) or a mapping {{amp, i, j, R}}, got {entry!r}")


def _orbital_index(x, n_orb: int, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{where}: orbital index {x!r} must be an integer")
    if not 0 <= int(x) < n_orb:
        raise ValueError(f"{where}: orbital index {int(x)} out of range 0..{n_orb - 1} "
                         f"({n_orb} orbitals)")
    return int(x)


def _spin_ops(spin, n_orb: int) -> np.ndarray:
    if spin == "outer":
        return np.stack([np.kron(s, np.eye(n_orb)) for s in PAULI[1:]])
    if spin == "inner":
        return np.stack([np.kron(np.eye(n_orb), s) for s in PAULI[1:]])
    raise AssertionError(spin)


def _combine_spin(T: np.ndarray, spin: str) -> np.ndarray:
    """(..., n_orb, n_orb, 2, 2) orbital x spin blocks -> (..., n, n) in the declared ordering."""
    n_orb = T.shape[-3]
    if spin == "outer":  # index s * n_orb + a
        T = np.moveaxis(T, -2, -4)  # (..., s, a, b, s')
        T = np.moveaxis(T, -1, -2)  # (..., s, a, s', b)
    else:  # inner: index 2 a + s
        T = np.moveaxis(T, -2, -3)  # (..., a, s, b, s')
    return T.reshape(T.shape[:-4] + (2 * n_orb, 2 * n_orb))


# -- the model ---------------------------------------------------------------------------------------

@register
class TightBindingModel(Model):
    """A lattice model from user data: see the module docstring for conventions.

    Build it from a hopping list::

        TightBindingModel(lattice_vectors=[[1, 0], [0.5, 3**0.5 / 2]],
                          positions=[[1/3, 1/3], [2/3, 2/3]], onsite=[M, -M],
                          hoppings=[(t1, 0, 1, [0, 0]), (t1, 1, 0, [1, 0]), ...])

    from matrices ``hr={R: H_R}`` (effective hoppings) or ``hr=WannierHR(...)`` (divided by the
    degeneracies), from a Wannier90 file (:meth:`from_wannier90`), or from a config mapping
    ``source`` (:func:`from_config`; this is how ``get_model("tight_binding", source=...)`` and
    the study configuration's ``model.source`` build it).

    Parameters
    ----------
    source : mapping of any of the keyword arguments below, plus ``hr_dat`` (path of a
        ``_hr.dat``) or ``hoppings_file`` (path of a YAML file with the same keys).  Keys given
        both in ``source`` and as keyword arguments are an error unless equal.
    lattice_vectors : (dim, dim) rows a_i in ``length_unit`` (dim = 1, 2 or 3).
    positions : (n_orb, dim) fractional orbital positions (default all 0).  For spinful matrix
        input they may also be given per basis state (n, dim).
    onsite : n_orb on-site energies (hopping lists only; default 0).
    hoppings : sequence of (amp, i, j, R) (or mappings {amp, i, j, R}); the conjugate is added.
    hr : {R: H_R} or :class:`WannierHR` (matrix input; exclusive with onsite / hoppings).
    spin : "none", "outer", "inner" or a (3, n, n) array of spin operators.
    spinful : for matrix input with spin "outer"/"inner": whether H_R is already spinful.
    J : exchange coupling (energy_unit); the model adds J m . S.
    high_symmetry_path : optional list of (label, fractional k) corners.
    hermitian_tol : tolerance of the check H(-R) = H(R)^dagger (absolute, energy_unit; default
        1e-5, above the rounding of Wannier90's 6-decimal output).  Pairs within it are
        symmetrised, (H(R) + H(-R)^dagger) / 2.
    """

    name = "tight_binding"
    domain = "lattice"
    batched_eigensystems = True
    equation = "user tight-binding model: H(k) = sum_R H(R) e^{i k.(R + tau_j - tau_i)} + J m.s"
    parameters = (
        Parameter("J", 0.0, "energy_unit of the model (eV by default)",
                  "exchange coupling J m . s on the declared spin structure"),
    )

    _KEYS = ("lattice_vectors", "positions", "onsite", "hoppings", "hr", "spin", "spinful", "J",
             "length_unit", "energy_unit", "high_symmetry_path", "hermitian_tol", "fermi_energy",
             "time_reversal", "exchange", "dimension")
    _PRIVATE = ("_provenance", "_sites")

    def __init__(self, source: Mapping[str, Any] | None = None, **kwargs):
        unknown = sorted(set(kwargs) - set(self._KEYS) - set(self._PRIVATE))
        if unknown:
            raise ValueError(f"model 'tight_binding': unknown argument(s) {unknown}; allowed: "
                             f"source, {', '.join(self._KEYS)}")
        if source is not None:
            spec = _spec_to_kwargs(source)
            for key, val in kwargs.items():
                if key in spec and not _same(spec[key], val):
                    raise ValueError(f"model 'tight_binding': {key} is given both in the source "
                                     f"({spec[key]!r}) and as a parameter ({val!r}); give it once")
            kwargs = {**spec, **kwargs}
        self._build(**kwargs)

    # -- construction -----------------------------------------------------------------------------
    def _build(self, lattice_vectors=None, positions=None, onsite=None, hoppings=None, hr=None,
               spin="none", spinful=None, J=0.0, length_unit="Angstrom", energy_unit="eV",
               high_symmetry_path=None, hermitian_tol=1e-5, fermi_energy=None, time_reversal="keep",
               exchange=None, dimension=None, _provenance=None, _sites=None):
        tag = "model 'tight_binding'"
        prov: dict[str, Any] = dict(_provenance or {})
        if time_reversal not in _TR_CHOICES:
            raise ValueError(f"{tag}: time_reversal = {time_reversal!r}; allowed: {', '.join(_TR_CHOICES)}")
        if fermi_energy is not None:
            if isinstance(fermi_energy, bool) or not isinstance(fermi_energy, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(fermi_energy):
                raise ValueError(f"{tag}: fermi_energy must be a finite number (energy_unit) or a file, "
                                 f"got {fermi_energy!r}")
            prov.setdefault("fermi_energy_source", "given")
        if lattice_vectors is None:
            raise ValueError(f"{tag}: lattice_vectors are required (rows a_i, dim x dim); "
                             f"give them with the hoppings or the _hr.dat file")
        try:
            lat = np.array(lattice_vectors, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{tag}: lattice_vectors must be a dim x dim array of numbers, "
                             f"got {lattice_vectors!r}") from None
        lat = np.atleast_2d(lat)
        if lat.ndim != 2 or lat.shape[0] != lat.shape[1] or not 1 <= lat.shape[0] <= 3:
            raise ValueError(f"{tag}: lattice_vectors must be a square dim x dim array "
                             f"(dim = 1, 2 or 3), got shape {lat.shape}")
        if not np.all(np.isfinite(lat)) or abs(np.linalg.det(lat)) < 1e-12 * max(1.0, np.abs(lat).max()) ** lat.shape[0]:
            raise ValueError(f"{tag}: lattice_vectors {lat.tolist()} are singular or not finite")
        if dimension is not None:
            if hr is None:
                raise ValueError(f"{tag}: dimension = {dimension!r} folds matrix input (hr_dat, tb_dat, "
                                 f"sparse_hr_dat) to k_z = 0; write a 2D hopping list in 2D directly")
            lat, hr, positions, fold = _fold_to_2d(lat, hr, positions, dimension)
            prov["folded_to_2d"] = fold
            log.info("tight_binding: folded the 3D model to k_z = 0 (dimension 2, per-area units); largest "
                     "hopping with R3 != 0: %.3g %s", fold["max_interlayer_hopping"], energy_unit)
        dim = lat.shape[0]

        if isinstance(J, bool) or not isinstance(J, (int, float, np.integer, np.floating)) or not np.isfinite(J):
            raise TypeError(f"{tag}: J must be a finite number, got {J!r}")
        J = float(J)

        explicit_spin = None
        if isinstance(spin, str):
            if spin not in _SPIN_CHOICES:
                raise ValueError(f"{tag}: spin = {spin!r}; allowed: {', '.join(_SPIN_CHOICES)} or "
                                 f"a (3, n, n) array of spin operators")
        elif spin is None:
            spin = "none"
        else:
            try:
                explicit_spin = np.array(spin, dtype=complex)
            except (TypeError, ValueError):
                raise ValueError(f"{tag}: spin must be one of {_SPIN_CHOICES} or a (3, n, n) array") from None
            spin = "explicit"
        if spin == "none" and J != 0.0:
            raise ValueError(f"{tag}: J = {J} but spin = 'none': declare a spin structure "
                             f"('outer', 'inner' or spin matrices) for the exchange term J m.s")
        if spin == "auto" and hr is None:
            raise ValueError(f"{tag}: spin = 'auto' decides the ordering of spinful matrix input (hr_dat, "
                             f"tb_dat, hr); a hopping list is written per spatial orbital: declare 'outer' or "
                             f"'inner'")

        if hr is not None and (hoppings is not None or onsite is not None):
            raise ValueError(f"{tag}: give either a hopping list (onsite, hoppings) or hopping "
                             f"matrices (hr / hr_dat), not both")
        if hr is None and hoppings is None and onsite is None:
            raise ValueError(f"{tag}: no Hamiltonian: give hoppings (and onsite), hr={{R: H_R}}, "
                             f"or an hr_dat file")

        if hr is None:
            if spinful is not None:
                raise ValueError(f"{tag}: 'spinful' is only for matrix (hr / hr_dat) input; in a "
                                 f"hopping list the orbitals are spatial and spin '{spin}' decides")
            n_orb, Rs, Hs, pos = self._from_hoppings(lat, positions, onsite, hoppings, spin, dim)
        else:
            n_orb, Rs, Hs, pos, spin = self._from_matrices(lat, positions, hr, spin, spinful, dim,
                                                           float(hermitian_tol), prov)

        n = Hs.shape[-1]
        if spin == "explicit":
            S = explicit_spin
            if S.shape != (3, n, n):
                raise ValueError(f"{tag}: spin operators must have shape (3, {n}, {n}) for this "
                                 f"{n}-band Hamiltonian, got {S.shape}")
            if not np.allclose(S, np.conj(np.swapaxes(S, -1, -2)), atol=1e-12):
                raise ValueError(f"{tag}: the spin operators are not Hermitian")
        elif spin == "none":
            S = np.zeros((3, n, n), dtype=complex)
        else:
            S = _spin_ops(spin, n // 2).astype(complex)

        # time reversal of the input: measured always, restored on request
        asym = time_reversal_asymmetry(Hs, spin)
        prov["input_time_reversal_asymmetry"] = asym
        prov["time_reversal"] = time_reversal
        if time_reversal == "symmetrize":
            if spin == "explicit":
                raise ValueError(f"{tag}: time_reversal = 'symmetrize' needs spin none, outer, inner or auto "
                                 f"(the time-reversal operator of explicit spin matrices is not known)")
            Hs = time_reversal_symmetrize(Hs, spin)
            log.info("tight_binding: time-reversal symmetrised H(R) (input asymmetry %.3g %s)", asym, energy_unit)
        elif asym is not None:
            log.info("tight_binding: time-reversal asymmetry of the input H(R): %.3g %s", asym, energy_unit)

        # the exchange term: J m.s on every orbital, or per-orbital J on selected ones
        if exchange is not None:
            if J != 0.0:
                raise ValueError(f"{tag}: J = {J} and exchange are both given: with exchange, give J per "
                                 f"orbital in its entries (J: ...) and leave J out")
            Jorb = _exchange_per_orbital(exchange, spin, n_orb, n, lat, _sites)
            X = _orbital_spin_ops(spin, Jorb)
            J = float(np.abs(Jorb).max(initial=0.0))
            prov["exchange_J_per_orbital"] = [float(x) for x in Jorb]
            log.info("tight_binding: exchange on %d of %d orbitals (J from %.4g to %.4g %s)",
                     int(np.count_nonzero(Jorb)), n_orb, Jorb.min(), Jorb.max(), energy_unit)
        else:
            X = J * S
        if fermi_energy is not None:
            log.info("tight_binding: Fermi energy %.6g %s (%s)", fermi_energy, energy_unit,
                     prov.get("fermi_energy_source", "given"))

        # canonical order: sort R, keep exactly-Hermitian pairs
        order = np.lexsort(Rs.T[::-1])
        Rs, Hs = Rs[order], Hs[order]
        self.dim = dim
        self.n_bands = n
        self.n_orbitals = n_orb
        self.spin = spin
        self.length_unit = str(length_unit)
        self.energy_unit = str(energy_unit)
        self._lat = lat
        self._R = Rs
        self._H = Hs
        self._pos = pos  # (n, dim) fractional, per basis state
        self._S = S
        self._X = np.asarray(X, dtype=complex)
        self.fermi_energy = None if fermi_energy is None else float(fermi_energy)
        self.provenance = prov
        self._Rc = Rs @ lat
        self._tau = pos @ lat
        self._has_tau = bool(np.any(pos != 0))
        self.J = J
        self.params = {"J": J}
        self._path = None if high_symmetry_path is None else _parse_path(high_symmetry_path, dim)

    def _from_hoppings(self, lat, positions, onsite, hoppings, spin, dim):
        tag = "model 'tight_binding'"
        spinful = spin in ("outer", "inner")
        if spin == "explicit":
            spinful = False  # orbitals are the basis states; spin matrices are given
        # number of orbitals: from positions, else from onsite
        if positions is not None:
            pos = _positions(positions, dim)
            n_orb = len(pos)
            if onsite is not None and len(onsite) != n_orb:
                raise ValueError(f"{tag}: {len(onsite)} on-site energies for {n_orb} orbitals "
                                 f"(positions); give one per orbital")
        elif onsite is not None:
            n_orb = len(onsite)
            pos = np.zeros((n_orb, dim))
        else:
            raise ValueError(f"{tag}: give positions or onsite so that the number of orbitals is known")
        if n_orb == 0:
            raise ValueError(f"{tag}: the model has no orbitals")
        ns = 2 if spinful else 1
        blocks: dict[tuple[int, ...], np.ndarray] = {}
        zero = (0,) * dim

        def block(R):
            if R not in blocks:
                blocks[R] = np.zeros((n_orb, n_orb, ns, ns), dtype=complex)
            return blocks[R]

        b0 = block(zero)
        for a, e in enumerate(onsite if onsite is not None else []):
            where = f"on-site energy of orbital {a}"
            mat = _amplitude(e, spinful, where)
            if not np.allclose(mat, mat.conj().T, atol=1e-12):
                raise ValueError(f"{where}: {e!r} is not Hermitian (real for a scalar)")
            b0[a, a] += 0.5 * (mat + mat.conj().T)
        seen: dict[tuple, int] = {}
        for idx, entry in enumerate(hoppings if hoppings is not None else []):
            amp, i, j, R = _parse_hop(entry, idx)
            where = f"hopping #{idx} (i={i!r}, j={j!r}, R={R!r})"
            i = _orbital_index(i, n_orb, where)
            j = _orbital_index(j, n_orb, where)
            R = _int_vector(R, dim, where)
            if i == j and R == zero:
                raise ValueError(f"{where}: an on-site term (i == j, R = 0) is not a hopping; "
                                 f"put it in onsite")
            key = (i, j, R)
            conj = (j, i, tuple(-r for r in R))
            if key in seen:
                raise ValueError(f"{where}: this hopping is given twice (also hopping "
                                 f"#{seen[key]})")
            if conj in seen:
                raise ValueError(f"{where}: hop given twice: it is the Hermitian conjugate of "
                                 f"hopping #{seen[conj]} (i={conj[1]}, j={conj[0]}, "
                                 f"R={list(tuple(-r for r in R))}), which is added automatically; "
                                 f"give each bond once")
            seen[key] = idx
            mat = _amplitude(amp, spinful, where)
            block(R)[i, j] += mat
            block(conj[2])[j, i] += mat.conj().T
        Rs = np.array(list(blocks), dtype=np.int64).reshape(len(blocks), dim)
        T = np.array(list(blocks.values()))
        if spinful:
            Hs = _combine_spin(T, spin)
            pos = _expand_positions(pos, spin)
        else:
            Hs = T[..., 0, 0]
        return n_orb, Rs, Hs, pos

    def _from_matrices(self, lat, positions, hr, spin, spinful, dim, tol, prov):
        tag = "model 'tight_binding'"
        if isinstance(hr, WannierHR) or (isinstance(hr, tuple) and len(hr) in (3, 4)):
            R_in, H_in, deg = hr[0], hr[1], hr[2]
            R_in = np.asarray(R_in)
            H_in = np.asarray(H_in, dtype=complex)
            deg = np.asarray(deg, dtype=float)
            if H_in.ndim != 3 or H_in.shape[1] != H_in.shape[2] or len(H_in) != len(R_in):
                raise ValueError(f"{tag}: hopping matrices must have shape (n_R, n, n) with n_R = "
                                 f"{len(R_in)}, got {H_in.shape}")
            if deg.shape != (len(R_in),) or np.any(deg <= 0):
                raise ValueError(f"{tag}: need {len(R_in)} positive degeneracies, got shape {deg.shape}")
            items = list(zip(R_in, H_in / deg[:, None, None]))
        elif isinstance(hr, Mapping):
            items = list(hr.items())
        else:
            raise TypeError(f"{tag}: hr must be a dict {{R: H_R}} or a WannierHR (R, H, ndegen), "
                            f"got {type(hr).__name__}")
        if not items:
            raise ValueError(f"{tag}: hr is empty")
        blocks: dict[tuple[int, ...], np.ndarray] = {}
        n = None
        for R, h in items:
            Rt = _int_vector(R, dim, "hr")
            try:
                h = np.array(_nested_complex(h, f"hr[{list(Rt)}]") if not isinstance(h, np.ndarray) else h,
                             dtype=complex)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{tag}: H_R at R = {list(Rt)} is not a matrix of numbers ({exc})") from None
            if h.ndim != 2 or h.shape[0] != h.shape[1]:
                raise ValueError(f"{tag}: H_R at R = {list(Rt)} must be a square matrix, got shape {h.shape}")
            if n is None:
                n = h.shape[0]
            if h.shape != (n, n):
                raise ValueError(f"{tag}: H_R shape mismatch: R = {list(Rt)} has shape {h.shape}, "
                                 f"others ({n}, {n})")
            if not np.all(np.isfinite(h)):
                raise ValueError(f"{tag}: H_R at R = {list(Rt)} has non-finite entries")
            if Rt in blocks:
                raise ValueError(f"{tag}: R = {list(Rt)} appears twice in hr")
            blocks[Rt] = h
        # Hermiticity: H(-R) = H(R)^dagger
        for Rt, h in blocks.items():
            mR = tuple(-r for r in Rt)
            partner = blocks.get(mR)
            target = np.zeros_like(h) if partner is None else partner.conj().T
            dev = np.abs(h - target)
            if dev.max() > tol:
                a, b = np.unravel_index(np.argmax(dev), dev.shape)
                what = ("is missing" if partner is None else
                        f"= {partner[b, a]:.6g}, but conj(H_R[{a},{b}]) = {np.conj(h[a, b]):.6g}")
                raise ValueError(
                    f"{tag}: non-Hermitian hoppings: H(-R) != H(R)^dagger at R = {list(Rt)}, "
                    f"orbital pair ({a}, {b}): H(R)[{a},{b}] = {h[a, b]:.6g} and "
                    f"H(-R)[{b},{a}] {what} (tolerance {tol:g})")
        for Rt in list(blocks):
            mR = tuple(-r for r in Rt)
            if mR not in blocks:
                blocks[mR] = np.zeros((n, n), dtype=complex)
        sym = {Rt: 0.5 * (h + blocks[tuple(-r for r in Rt)].conj().T) for Rt, h in blocks.items()}
        Rs = np.array(list(sym), dtype=np.int64).reshape(len(sym), dim)
        Hs = np.array(list(sym.values()))

        if spin == "auto" and spinful is None:
            raise ValueError(f"{tag}: spin = 'auto' with matrix input: say whether the H_R are already "
                             f"spinful (spinful: true; the ordering is then decided by time reversal) or "
                             f"spinless (spinful: false)")
        if spin == "auto" and spinful is False:
            spin = "outer"  # s_0 (x) H or H (x) s_0: the same model up to a relabelling of the basis
            prov["spin_ordering"] = "outer (spinless input doubled)"
        elif spin in ("auto", "outer", "inner") and spinful:
            if n % 2:
                raise ValueError(f"{tag}: spinful H_R must have an even size, got {n} x {n}")
            spin = _check_spin_ordering(Hs, spin, tol, prov)
        if spin in ("outer", "inner"):
            if spinful is None:
                raise ValueError(f"{tag}: spin = {spin!r} with matrix input: say whether the H_R "
                                 f"are already spinful (spinful: true, n = 2 n_orb in '{spin}' "
                                 f"ordering) or spinless (spinful: false, the model doubles them)")
            if spinful:
                if n % 2:
                    raise ValueError(f"{tag}: spinful H_R must have an even size, got {n} x {n}")
                n_orb = n // 2
            else:
                n_orb = n
                eye = np.eye(2)
                Hs = np.array([np.kron(eye, h) if spin == "outer" else np.kron(h, eye) for h in Hs])
        else:
            if spinful is not None and spin == "none" and spinful:
                raise ValueError(f"{tag}: spinful = true needs spin 'outer' or 'inner' to say the ordering")
            n_orb = n
        nb = Hs.shape[-1]
        if positions is None:
            pos = np.zeros((nb, dim))
        else:
            p = _positions(positions, dim)
            if len(p) == nb:
                pos = p
            elif len(p) == n_orb and spin in ("outer", "inner"):
                pos = _expand_positions(p, spin)
            else:
                raise ValueError(f"{tag}: {len(p)} orbital positions for a {nb}-band model with "
                                 f"{n_orb} orbitals; give one per orbital")
        return n_orb, Rs, Hs, pos, spin

    # -- alternative constructors ---------------------------------------------------------------
    @classmethod
    def from_wannier90(cls, path, lattice_vectors=None, *, positions=None, spin="none", spinful=None,
                       J=0.0, **kwargs) -> "TightBindingModel":
        """A model from a Wannier90 ``seedname_hr.dat`` and the files of its seed beside it (the
        ``_wsvec.dat`` applied; the lattice from the ``.win`` when not given), as ``source:
        {hr_dat: path, ...}`` reads them."""
        spec = {"hr_dat": str(path), "spin": spin, "J": J, **kwargs}
        for key, val in (("lattice_vectors", lattice_vectors), ("positions", positions), ("spinful", spinful)):
            if val is not None:
                spec[key] = val
        return cls(source=spec)

    # -- fingerprint ------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """SHA-256 of the lattice, hoppings, positions, spin operators, J and units."""
        h = hashlib.sha256()
        for arr in (self._lat, self._R, self._H, self._pos, self._S, self._X):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr((self.J, self.spin, self.length_unit, self.energy_unit)).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (f"TightBindingModel(n_bands={self.n_bands}, dim={self.dim}, n_R={len(self._R)}, "
                f"spin={self.spin!r}, J={self.J!r})")


    # -- data accessors ---------------------------------------------------------------------------
    def hoppings(self) -> WannierHR:
        """The hopping matrices H(R) (without the exchange term), degeneracies 1."""
        return WannierHR(R=self._R.copy(), H=self._H.copy(), ndegen=np.ones(len(self._R), np.int64),
                         header="magcore TightBindingModel hoppings")

    def positions(self) -> np.ndarray:
        """Fractional positions of the basis states, shape (n, dim)."""
        return self._pos.copy()

    def to_wannier90(self, path, *, header: str | None = None) -> Path:
        """Write the hoppings (no exchange term, no positions) as a ``_hr.dat`` file."""
        return write_wannier90_hr(path, self.hoppings(), header=header)

    # -- operators --------------------------------------------------------------------------------
    def _bloch(self, k: np.ndarray, derivative: bool, value: bool = True):
        """G(k) = sum_R H(R) e^{ik.R} (and dG/dk) on the k batch, then the position phases.  On a
        product grid of k (a uniform mesh or a block of one) the sum runs one lattice axis at a
        time (:mod:`magcore.models.bloch_grid`), otherwise over all R.  G is computed when
        ``value`` or the positions need it (else None)."""
        n = self.n_bands
        kb = k.shape[:-1]
        value = value or self._has_tau
        grid = None
        if int(np.prod(kb)) >= MIN_POINTS:  # a product grid of k: the sum one lattice axis at a time
            frac = k.reshape(-1, self.dim) @ self._lat.T / (2 * np.pi)
            grid = bloch_on_grid(self._R, self._H, self._lat, frac, value, derivative)
        if grid is None:
            G, dG = self._bloch_direct(k, value, derivative)
        else:
            G = None if grid[0] is None else grid[0].reshape(kb + (n, n))
            dG = None if grid[1] is None else grid[1].reshape(kb + (self.dim, n, n))
        if derivative and self._has_tau:
            dtau = self._tau[None, :, :] - self._tau[:, None, :]  # (i, j, a) = tau_j - tau_i
            dG = dG + 1j * np.moveaxis(dtau, -1, 0) * G[..., None, :, :]
        if self._has_tau:
            p = np.exp(1j * (k @ self._tau.T))  # (..., n)
            phase = np.conj(p)[..., :, None] * p[..., None, :]
            G = G * phase
            if dG is not None:
                dG = dG * phase[..., None, :, :]
        return G, dG

    def _bloch_direct(self, k: np.ndarray, value: bool, derivative: bool):
        """G(k) = sum_R H(R) e^{ik.R} (if ``value``) and dG/dk (if ``derivative``) by the sum over
        all R (any k batch)."""
        n = self.n_bands
        kb = k.shape[:-1]
        ph = np.exp(1j * (k @ self._Rc.T))  # (..., n_R)
        flatH = self._H.reshape(len(self._R), n * n)
        G = (ph @ flatH).reshape(kb + (n, n)) if value else None
        dG = None
        if derivative:
            # dG/dk_a = sum_R i R_a H(R) e^{ik.R}
            # (one product per Cartesian direction: no (dim, n_R, n^2) temporary)
            dG = np.stack([((1j * self._Rc[:, a]) * ph) @ flatH for a in range(self.dim)], axis=-2)
            dG = dG.reshape(kb + (self.dim, n, n))
        return G, dG

    def hamiltonian(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        G, _ = self._bloch(k, derivative=False)
        H = G + np.einsum("...a,aij->...ij", m, self._X)
        return np.broadcast_to(H, batch + H.shape[-2:]).copy() if H.shape[:-2] != batch else H

    def dh_dk(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        _, dG = self._bloch(k, derivative=True, value=False)
        return np.broadcast_to(dG, batch + dG.shape[-3:]).copy() if dG.shape[:-3] != batch else dG

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        ops = self._X
        return np.broadcast_to(ops, batch + ops.shape).copy()

    def spin_operators(self):
        return self._S.copy()

    def exchange_coupling(self):
        """J s_i (per orbital with ``exchange``): the exchange term is the only m dependence."""
        return self._X.copy()

    def store_attrs(self) -> dict[str, Any]:
        """What the bands store records about how the model was read (JSON-ready): the files,
        whether a _wsvec.dat was applied, the spin ordering and its time-reversal check, the
        time-reversal asymmetry of the input (and whether it was symmetrised), the Fermi
        energy and its source, the folding to 2D, the per-orbital exchange."""
        out = {}
        for key, val in self.provenance.items():
            out[f"tight_binding_{key}"] = val
        out["tight_binding_spin"] = self.spin
        if self.fermi_energy is not None:
            out["tight_binding_fermi_energy"] = self.fermi_energy
        return out

    # -- lattice ----------------------------------------------------------------------------------
    def lattice_vectors(self):
        return self._lat.copy()

    def high_symmetry_path(self):
        """The user's path if given; otherwise a default by lattice type.

        2D: Gamma-M-K-Gamma for a hexagonal lattice (|a1| = |a2| at 60 or 120 degrees; K is the
        zone corner), else Gamma-X-M-Gamma with X = b1/2, M = (b1 + b2)/2.  1D: -X, Gamma, X.
        3D: Gamma-X-M-Gamma-Z-R.  Fractional coordinates of the reciprocal vectors.
        """
        if self._path is not None:
            return [(label, k.copy()) for label, k in self._path]
        return default_high_symmetry_path(self._lat)


# -- module-level helpers ------------------------------------------------------------------------------

def _tr_unitary(spin: str, n: int) -> np.ndarray:
    """U of the time-reversal operator Theta = U K for the basis ordering ``spin``: i s_y on the
    spin of each orbital (spinless: the identity)."""
    isy = np.array([[0, 1], [-1, 0]], dtype=complex)  # i s_y
    if spin == "outer":
        return np.kron(isy, np.eye(n // 2))
    if spin == "inner":
        return np.kron(np.eye(n // 2), isy)
    return np.eye(n, dtype=complex)


def time_reversal_asymmetry(H: np.ndarray, spin: str) -> float | None:
    """max over R, i, j of |H(R) - U H(R)^* U^dagger|: how much the hoppings H (n_R, n, n) break
    time reversal Theta = U K (U = i s_y on each orbital's spin in the ordering ``spin``; the
    identity for spinless orbitals, where the condition is H(R) real).  H(-k) = Theta H(k)
    Theta^-1 holds for every k exactly when this is 0 (also with orbital positions, which are
    the same for the two spin states of an orbital).  None for explicit spin matrices."""
    if spin == "explicit":
        return None
    U = _tr_unitary(spin, H.shape[-1])
    D = H - U @ H.conj() @ U.conj().T
    return float(np.abs(D).max(initial=0.0))


def time_reversal_symmetrize(H: np.ndarray, spin: str) -> np.ndarray:
    """(H(R) + U H(R)^* U^dagger) / 2: the nearest time-reversal-symmetric hoppings (a projection:
    symmetric input is returned unchanged, and H(-R) = H(R)^dagger is kept)."""
    U = _tr_unitary(spin, H.shape[-1])
    return 0.5 * (H + U @ H.conj() @ U.conj().T)


def _check_spin_ordering(Hs: np.ndarray, spin: str, tol: float, prov: dict) -> str:
    """Decide (spin 'auto') or check (declared 'outer' / 'inner') the ordering of spinful
    hoppings by the time-reversal check at J = 0: the right ordering is the one in which the
    input is (nearly) time-reversal symmetric.  A declared ordering fails when the other one is
    :data:`SPIN_ORDER_MARGIN` times more symmetric (and its own asymmetry exceeds the tolerance)."""
    tag = "model 'tight_binding'"
    a = {o: time_reversal_asymmetry(Hs, o) for o in ("outer", "inner")}
    prov["time_reversal_asymmetry_outer"] = a["outer"]
    prov["time_reversal_asymmetry_inner"] = a["inner"]
    shown = (f"time-reversal asymmetry max|H(R) - Theta H(R) Theta^-1| = {a['outer']:.3g} for outer "
             f"(spin-major) and {a['inner']:.3g} for inner (interleaved)")
    if spin == "auto":
        best, other = sorted(a, key=a.get)
        if a[other] > tol and a[best] * SPIN_ORDER_MARGIN <= a[other]:
            prov["spin_ordering"] = f"{best} (spin: auto, by time reversal)"
            log.info("tight_binding: spin: auto -> %s (%s)", best, shown)
            return best
        raise ValueError(f"{tag}: spin = 'auto' cannot tell the spin ordering: {shown} (one must be "
                         f"{SPIN_ORDER_MARGIN:g} times smaller); declare spin: outer or inner")
    other = "inner" if spin == "outer" else "outer"
    if a[spin] > tol and a[spin] > SPIN_ORDER_MARGIN * a[other]:
        raise ValueError(f"{tag}: spin = {spin!r} fails the time-reversal check: {shown}; the file looks "
                         f"{other}: use spin: {other} (or auto)")
    prov["spin_ordering"] = f"{spin} (declared; {shown})"
    return spin


def _fold_to_2d(lat: np.ndarray, hr, positions, dimension):
    """A 3D model whose a1, a2 lie in the xy plane and a3 along z, folded to k_z = 0:
    H_2D(R1, R2) = sum_R3 H(R1, R2, R3), lattice a1, a2 (x, y components), positions without
    their third coordinate."""
    tag = "model 'tight_binding'"
    if dimension != 2 or isinstance(dimension, bool):
        raise ValueError(f"{tag}: dimension = {dimension!r}: only 2 (fold a 3D file to a 2D material) is allowed")
    if lat.shape != (3, 3):
        raise ValueError(f"{tag}: dimension = 2 folds a 3D model, but the lattice is {lat.shape[0]}D")
    scale = np.abs(lat).max()
    if np.abs(lat[:2, 2]).max() > 1e-6 * scale or np.abs(lat[2, :2]).max() > 1e-6 * scale:
        raise ValueError(f"{tag}: dimension = 2 needs a1, a2 in the xy plane and a3 along z (the layer "
                         f"normal); got lattice_vectors {lat.tolist()}")
    if isinstance(hr, WannierHR) or (isinstance(hr, tuple) and len(hr) in (3, 4)):
        hr = WannierHR(*hr[:3]).as_dict() if not isinstance(hr, WannierHR) else hr.as_dict()
    if not isinstance(hr, Mapping):
        raise TypeError(f"{tag}: hr must be a dict {{R: H_R}} or a WannierHR")
    folded: dict[tuple[int, int], np.ndarray] = {}
    inter = 0.0
    for R, h in hr.items():
        R3 = _int_vector(R, 3, "hr")
        h = np.asarray(h, dtype=complex)
        key = R3[:2]
        folded[key] = folded.get(key, 0) + h
        if R3[2] != 0:
            inter = max(inter, float(np.abs(h).max(initial=0.0)))
    if positions is not None and not isinstance(positions, str):
        p = np.asarray(positions, dtype=float)
        positions = p[:, :2] if p.ndim == 2 and p.shape[1] == 3 else p
    return lat[:2, :2].copy(), folded, positions, {"max_interlayer_hopping": inter, "layer_normal": "z",
                                                 "c": float(lat[2, 2])}


def _nearest_atoms(centres: np.ndarray, lat: np.ndarray, atoms, what: str) -> np.ndarray:
    """Index of the atom nearest to each centre (periodic images included); an error when the
    second-nearest atom is less than twice as far."""
    tag = "model 'tight_binding'"
    if not atoms:
        raise ValueError(f"{tag}: {what} needs the atoms (from seedname_centres.xyz or atoms_cart / "
                         f"atoms_frac in the .win)")
    pos = np.array([a[1] for a in atoms])
    L = np.zeros((3, 3))
    L[: lat.shape[0], : lat.shape[1]] = lat
    imgs = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ L
    out = []
    for w, c in enumerate(centres):
        d = np.linalg.norm(c[None, None, :] - pos[:, None, :] - imgs[None, :, :], axis=-1).min(axis=1)
        order = np.argsort(d)
        if len(d) > 1 and d[order[1]] < 2 * d[order[0]]:
            raise ValueError(f"{tag}: {what}: Wannier function {w} (centre {np.round(c, 4).tolist()} Angstrom) is "
                             f"not clearly at one atom ({atoms[order[0]][0]} at {d[order[0]]:.3g}, "
                             f"{atoms[order[1]][0]} at {d[order[1]]:.3g} Angstrom)")
        out.append(int(order[0]))
    return np.array(out, dtype=int)


def _spatial_centres(per_wf, spin: str, n_orb: int, n: int):
    """Per-spatial-orbital values (e.g. centres (n_orb, 3)) from per-Wannier-function ones."""
    centres = np.asarray(per_wf)
    if len(centres) == n_orb:
        return centres
    if len(centres) == n and spin == "outer":
        return centres[:n_orb]
    if len(centres) == n and spin == "inner":
        return centres[0::2]
    raise ValueError(f"model 'tight_binding': {len(centres)} Wannier centres for {n_orb} orbitals ({n} bands)")


def _exchange_per_orbital(exchange, spin: str, n_orb: int, n: int, lat: np.ndarray, sites) -> np.ndarray:
    """Per-spatial-orbital J from the ``exchange`` entries: each selects orbitals by index
    (``orbitals: [i, ...]``), by atom (``atom: <index or element symbol>``, the orbitals whose
    Wannier centre is nearest to it) or by place (``near: [fractional x, y(, z)]``, ``radius``
    in length_unit: the orbitals whose centre is within it), and gives their ``J``."""
    tag = "model 'tight_binding': exchange"
    if spin not in ("outer", "inner"):
        raise ValueError(f"{tag} needs spin outer, inner or auto (spinful orbitals), not {spin!r}")
    if not isinstance(exchange, (list, tuple)) or not exchange:
        raise ValueError(f"{tag} must be a non-empty list of {{orbitals | atom | near, J}} entries")
    Jorb = np.zeros(n_orb)
    owner: dict[int, int] = {}
    centres = atom_of = None
    for e, entry in enumerate(exchange):
        where = f"{tag}[{e}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a mapping {{orbitals: [..], J: ..}}, got {entry!r}")
        unknown = set(entry) - {"orbitals", "atom", "near", "radius", "J"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: orbitals, atom, near, radius, J")
        chosen = [k for k in ("orbitals", "atom", "near") if k in entry]
        if len(chosen) != 1:
            raise ValueError(f"{where}: give exactly one of orbitals, atom, near")
        J = entry.get("J")
        if isinstance(J, bool) or not isinstance(J, (int, float, np.integer, np.floating)) or not np.isfinite(J):
            raise ValueError(f"{where}: J must be a finite number (energy_unit), got {J!r}")
        if "orbitals" in entry:
            sel = [_orbital_index(i, n_orb, where) for i in np.atleast_1d(entry["orbitals"]).tolist()]
        else:
            by_projection = ("atom" in entry and sites is not None and sites.get("centres") is None
                             and sites.get("wf_atom") is not None)
            if not by_projection and (sites is None or sites.get("centres") is None):
                raise ValueError(f"{where}: selecting by {chosen[0]} needs the Wannier centres "
                                 f"(seedname_centres.xyz beside the file, or tb_dat)"
                                 + (" or the .win projections" if chosen[0] == "atom" else ""))
            if centres is None and not by_projection:
                centres = _spatial_centres(sites["centres"], spin, n_orb, n)
            if "atom" in entry:
                atoms = sites.get("atoms") or []
                if atom_of is None and by_projection:
                    atom_of = np.array([-1 if a is None else a for a in
                                        _spatial_centres(np.array(sites["wf_atom"], dtype=object), spin, n_orb, n)])
                elif atom_of is None:
                    atom_of = _nearest_atoms(centres, lat, atoms, "exchange by atom")
                a = entry["atom"]
                if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
                    if not 0 <= a < len(atoms):
                        raise ValueError(f"{where}: atom index {a} out of range 0..{len(atoms) - 1}")
                    sel = [i for i in range(n_orb) if atom_of[i] == a]
                else:
                    names = sorted({str(x[0]) for x in atoms})
                    if str(a) not in names:
                        raise ValueError(f"{where}: no atom {a!r}; the atoms are {', '.join(names)} (or give an index)")
                    sel = [i for i in range(n_orb) if atom_of[i] >= 0 and atoms[atom_of[i]][0] == str(a)]
            else:
                radius = entry.get("radius")
                if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not radius > 0:
                    raise ValueError(f"{where}: near needs radius > 0 (length_unit)")
                p = np.asarray(entry["near"], dtype=float)
                L = np.zeros((3, 3))
                L[: lat.shape[0], : lat.shape[1]] = lat
                fr = np.zeros(3)
                fr[: len(p)] = p
                point = fr @ L
                imgs = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ L
                d = np.linalg.norm(centres[:, None, :] - point - imgs[None], axis=-1).min(axis=1)
                sel = [i for i in range(n_orb) if d[i] <= radius]
        if not sel:
            raise ValueError(f"{where}: selects no orbital")
        for i in sel:
            if i in owner:
                raise ValueError(f"{where}: orbital {i} is already selected by exchange[{owner[i]}]")
            owner[i] = e
            Jorb[i] = float(J)
    return Jorb


def _orbital_spin_ops(spin: str, Jorb: np.ndarray) -> np.ndarray:
    """sum over orbitals a of J_a s (on orbital a), shape (3, n, n), in the ordering ``spin``."""
    D = np.diag(Jorb)
    if spin == "outer":
        return np.stack([np.kron(s, D) for s in PAULI[1:]]).astype(complex)
    return np.stack([np.kron(D, s) for s in PAULI[1:]]).astype(complex)


def _positions(positions, dim: int) -> np.ndarray:
    try:
        pos = np.array(positions, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"model 'tight_binding': positions must be an (n_orb, {dim}) array of "
                         f"numbers, got {positions!r}") from None
    if dim == 1 and pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] != dim:
        raise ValueError(f"model 'tight_binding': positions must have shape (n_orb, {dim}) "
                         f"(fractional coordinates), got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("model 'tight_binding': positions must be finite")
    return pos


def _expand_positions(pos: np.ndarray, spin: str) -> np.ndarray:
    return np.concatenate([pos, pos]) if spin == "outer" else np.repeat(pos, 2, axis=0)


def _parse_path(path, dim: int) -> list[tuple[str, np.ndarray]]:
    out = []
    items = list(path.items()) if isinstance(path, Mapping) else list(path)
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            label, k = item.get("label"), item.get("k")
        else:
            try:
                label, k = item
            except (TypeError, ValueError):
                raise ValueError(f"high_symmetry_path entry #{i}: expected (label, k), got {item!r}") from None
        k = np.atleast_1d(np.asarray(k, dtype=float))
        if k.shape != (dim,):
            raise ValueError(f"high_symmetry_path entry #{i} ({label}): k must have {dim} fractional "
                             f"coordinates, got {k.tolist()}")
        out.append((str(label), k))
    if len(out) < 2:
        raise ValueError("high_symmetry_path needs at least two corners")
    return out


def default_high_symmetry_path(lattice_vectors) -> list[tuple[str, np.ndarray]]:
    """A band-structure path for a lattice (see :meth:`TightBindingModel.high_symmetry_path`)."""
    lat = np.atleast_2d(np.asarray(lattice_vectors, dtype=float))
    dim = lat.shape[0]
    z = np.zeros(dim)
    if dim == 1:
        return [("-X", np.array([-0.5])), ("Gamma", z), ("X", np.array([0.5]))]
    if dim == 2:
        a1, a2 = lat
        l1, l2 = np.linalg.norm(a1), np.linalg.norm(a2)
        cos = a1 @ a2 / (l1 * l2)
        if abs(l1 - l2) < 1e-6 * l1 and abs(abs(cos) - 0.5) < 1e-6:
            b = 2 * np.pi * np.linalg.inv(lat).T
            # K: the candidate equidistant from Gamma and two nonzero reciprocal vectors
            G = np.array([i * b[0] + j * b[1] for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)])
            for cand in ([2 / 3, 1 / 3], [1 / 3, 1 / 3], [1 / 3, 2 / 3], [2 / 3, 2 / 3]):
                kc = np.array(cand) @ b
                d0 = np.linalg.norm(kc)
                if np.sum(np.abs(np.linalg.norm(kc - G, axis=1) - d0) < 1e-8 * d0) == 2:
                    K = np.array(cand)
                    break
            return [("Gamma", z), ("M", np.array([0.5, 0.0])), ("K", K), ("Gamma", z.copy())]
        return [("Gamma", z), ("X", np.array([0.5, 0.0])), ("M", np.array([0.5, 0.5])), ("Gamma", z.copy())]
    return [("Gamma", z), ("X", np.array([0.5, 0, 0])), ("M", np.array([0.5, 0.5, 0])), ("Gamma", z.copy()),
            ("Z", np.array([0, 0, 0.5])), ("R", np.array([0.5, 0.5, 0.5]))]


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:  # noqa: BLE001 - anything not comparable is "different"
        return a is b


_MATRIX_FILES = ("hr_dat", "tb_dat", "sparse_hr_dat")
_FILE_KEYS = _MATRIX_FILES + ("win", "centres_xyz")
_SPEC_KEYS = set(TightBindingModel._KEYS) | {"hoppings_file"} | set(_FILE_KEYS)


def _seed_file(path: Path, suffix: str) -> Path:
    """``seed<suffix>`` beside ``seed_hr.dat`` / ``seed_tb.dat`` (whatever the matrix file's name)."""
    name = path.name
    for end in ("_hr.dat", "_tb.dat"):
        if name.endswith(end):
            return path.with_name(name[: -len(end)] + suffix)
    return path.with_name(path.stem + suffix)


def _read_files(spec: Mapping[str, Any], out: dict[str, Any], tag: str) -> None:
    """The Wannier90 files of ``spec`` into constructor arguments in ``out``: H(R) from hr_dat /
    tb_dat / sparse_hr_dat with the _wsvec.dat beside it applied, the lattice from tb_dat or the
    .win, the Wannier centres (tb_dat or _centres.xyz) and atoms, positions: centres | atoms,
    a Fermi energy from a file or the .win."""
    from . import wannier90 as w90

    given = [k for k in _MATRIX_FILES if k in spec]
    if len(given) > 1:
        raise ValueError(f"{tag}: give one of {', '.join(_MATRIX_FILES)}, not {' and '.join(given)}")
    prov: dict[str, Any] = {}
    sites: dict[str, Any] = {"centres": None, "atoms": []}
    file_lattice = None
    main = None
    if given:
        key = given[0]
        if "hr" in out or "hoppings" in out or "onsite" in out:
            raise ValueError(f"{tag}: {key} and inline hoppings / hr are exclusive")
        main = Path(spec[key]).expanduser()
        if key == "hr_dat":
            hr = read_wannier90_hr(main)
            R, H, deg = hr.R, hr.H, hr.ndegen
        elif key == "tb_dat":
            tb = w90.read_tb_dat(main)
            R, H, deg = tb.R, tb.H, tb.ndegen
            file_lattice = (tb.lattice, str(main))
            sites["centres"] = tb.centres
        else:
            R, H, deg = w90.read_sparse_hr(main)
        prov[key] = str(main)
        ws = w90.wsvec_path_for(main)
        if ws.is_file():
            R, H_eff, info = w90.apply_wsvec(R, H, deg, ws)
            out["hr"] = {tuple(int(x) for x in r): h for r, h in zip(R, H_eff)}
            prov["wsvec"] = {"file": info.path, "applied": info.applied, "elements_shifted": info.n_shifted,
                             "elements": info.n_elements, "max_images": info.max_images}
            if info.applied:
                log.info("tight_binding: read %s (Wannier90 >= 3.0 minimal-distance replicas, MDRS): "
                         "%d of %d hopping elements moved or split over up to %d images", ws,
                         info.n_shifted, info.n_elements, info.max_images)
            else:
                log.info("tight_binding: %s says its shifts are already in %s (write_ndegen_applied): "
                         "not applied again", ws, main.name)
        else:
            out["hr"] = WannierHR(R=R, H=H, ndegen=deg)
            prov["wsvec"] = None
            log.info("tight_binding: no %s beside %s: hoppings used as written (no MDRS shifts)", ws.name, main)
    win_path = spec.get("win")
    if win_path is None and main is not None and _seed_file(main, ".win").is_file():
        win_path = _seed_file(main, ".win")
    win = None
    if win_path is not None:
        win = w90.read_win(Path(win_path).expanduser())
        prov["win"] = str(win_path)
        if win.lattice is not None and file_lattice is None:
            file_lattice = (win.lattice, str(win_path))
        sites["atoms"] = win.atoms
    xyz = spec.get("centres_xyz")
    if xyz is None and main is not None and _seed_file(main, "_centres.xyz").is_file():
        xyz = _seed_file(main, "_centres.xyz")
    if xyz is not None:
        centres, atoms = w90.read_centres_xyz(Path(xyz).expanduser())
        prov["centres_xyz"] = str(xyz)
        if sites["centres"] is None:
            sites["centres"] = centres
        if atoms:
            sites["atoms"] = atoms
    n_file = None
    if isinstance(out.get("hr"), WannierHR):
        n_file = out["hr"].H.shape[1]
    elif isinstance(out.get("hr"), Mapping) and out["hr"]:
        n_file = next(iter(out["hr"].values())).shape[-1]
    if sites["centres"] is not None and n_file is not None and len(sites["centres"]) != n_file:
        raise ValueError(f"{tag}: {len(sites['centres'])} Wannier centres in {prov.get('centres_xyz')} but "
                         f"num_wann = {n_file} in {main} (inconsistent files)")
    if win is not None and win.num_wann is not None and n_file is not None and win.num_wann != n_file:
        raise ValueError(f"{tag}: num_wann = {win.num_wann} in {win_path} but {n_file} in {main} (inconsistent files)")
    if win is not None:
        wf_atom = w90.projection_atoms(win)
        if wf_atom is not None and n_file is not None and len(wf_atom) != n_file:
            log.warning("tight_binding: the projections of %s give %d Wannier functions, %s has %d: not used",
                        win_path, len(wf_atom), main, n_file)
            wf_atom = None
        if wf_atom is not None:
            sites["wf_atom"] = wf_atom
        if win.spinors is not None and "spinful" not in out and out.get("spin") in ("outer", "inner", "auto"):
            out["spinful"] = bool(win.spinors)
            prov["spinful_source"] = f"{win_path}: spinors"

    # the lattice: given, or from the files (and then they must agree)
    if file_lattice is not None:
        lat_f, src = file_lattice
        if "lattice_vectors" not in out:
            out["lattice_vectors"] = lat_f.tolist()
            prov["lattice_vectors_source"] = src
        else:
            try:
                lat_g = np.array(out["lattice_vectors"], dtype=float)
            except (TypeError, ValueError):
                lat_g = None
            if lat_g is not None and lat_g.shape == (3, 3):
                dev = float(np.abs(lat_g - lat_f).max())
                if dev > 1e-4 * max(1.0, float(np.abs(lat_f).max())):
                    raise ValueError(f"{tag}: lattice_vectors differ from those of {src} by up to {dev:.3g} "
                                     f"(inconsistent input: give them once, or the right ones)")
    # orbital positions from the Wannier centres or their atoms
    pos = out.get("positions")
    if isinstance(pos, str):
        if pos not in ("centres", "atoms"):
            raise ValueError(f"{tag}: positions = {pos!r}; allowed: a list of fractional positions, "
                             f"'centres' (the Wannier centres) or 'atoms' (the atom nearest to each centre)")
        if sites["centres"] is None and not (pos == "atoms" and sites.get("wf_atom") is not None
                                             and None not in sites["wf_atom"]):
            raise ValueError(f"{tag}: positions = {pos!r} needs the Wannier centres (tb_dat, or "
                             f"seedname_centres.xyz beside the file / centres_xyz)")
        if "lattice_vectors" not in out:
            raise ValueError(f"{tag}: positions = {pos!r} needs the lattice vectors (lattice_vectors, "
                             f"tb_dat or a .win with unit_cell_cart)")
        lat = np.array(out["lattice_vectors"], dtype=float)
        if pos == "atoms" and sites["centres"] is None:  # from the .win projections
            cart = np.array([sites["atoms"][i][1] for i in sites["wf_atom"]])
        elif pos == "atoms":
            idx = _nearest_atoms(np.asarray(sites["centres"], dtype=float), lat if lat.shape == (3, 3) else np.eye(3),
                                 sites["atoms"], "positions: atoms")
            cart = np.array([sites["atoms"][i][1] for i in idx])
        else:
            cart = np.asarray(sites["centres"], dtype=float)
        if lat.shape != (3, 3):
            raise ValueError(f"{tag}: positions = {pos!r} needs 3D lattice vectors (the centres are 3D "
                             f"Cartesian); with a 2D material give the 3D cell and dimension: 2")
        out["positions"] = (cart @ np.linalg.inv(lat)).tolist()
        prov["positions"] = pos
    # the Fermi energy: a number, a file, or the .win's fermi_energy
    fe = out.get("fermi_energy")
    if isinstance(fe, str):
        val, what = w90.read_fermi_energy(Path(fe).expanduser())
        out["fermi_energy"] = val
        prov["fermi_energy_source"] = f"{fe}: {what}"
    elif fe is None and win is not None and win.fermi_energy is not None:
        out["fermi_energy"] = win.fermi_energy
        prov["fermi_energy_source"] = f"{win_path}: fermi_energy"
    if prov:
        out["_provenance"] = prov
    if sites["centres"] is not None or sites["atoms"] or sites.get("wf_atom") is not None:
        out["_sites"] = sites


def _spec_to_kwargs(spec) -> dict[str, Any]:
    """Turn a config-style mapping into constructor keyword arguments (reading any files)."""
    tag = "model 'tight_binding' source"
    if not isinstance(spec, Mapping):
        raise TypeError(f"{tag}: must be a mapping (e.g. {{hr_dat: seed_hr.dat, lattice_vectors: "
                        f"[[..], [..]]}}), got {type(spec).__name__}")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{tag}: unknown key(s) {unknown}; allowed: {', '.join(sorted(_SPEC_KEYS))}")
    out = {k: v for k, v in spec.items() if k not in _FILE_KEYS + ("hoppings_file",)}
    files = [k for k in _MATRIX_FILES if k in spec]
    if files and "hoppings_file" in spec:
        raise ValueError(f"{tag}: give {files[0]} or hoppings_file, not both")
    if any(k in spec for k in _FILE_KEYS) or isinstance(spec.get("fermi_energy"), str) \
            or isinstance(spec.get("positions"), str):
        _read_files(spec, out, tag)
    if "hoppings_file" in spec:
        import yaml

        path = Path(spec["hoppings_file"])
        if not path.is_file():
            raise FileNotFoundError(f"{tag}: hoppings file not found: {path}")
        raw = path.read_bytes()
        try:
            if b"\0" in raw:
                raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), raw.index(b"\0") + 1, "NUL byte")
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ValueError(f"{tag}: {path}, line {line}: not a text file (a hoppings file is YAML)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else f"{path}"
            what = getattr(exc, "problem", None) or "syntax error"
            raise ValueError(f"{tag}: {where}: not valid YAML: {what}".splitlines()[0]) from None
        if not isinstance(data, Mapping):
            raise ValueError(f"{tag}: {path} must hold a mapping with lattice_vectors, positions, "
                             f"onsite, hoppings")
        bad = sorted(str(k) for k in set(data) - set(TightBindingModel._KEYS) - set(_FILE_KEYS))
        if bad:  # key names are quoted only from a file that has hopping-file keys too
            shown = ", ".join(_excerpt(k, 24) for k in bad[:3]) + (", ..." if len(bad) > 3 else "")
            shown = f" ({shown})" if len(bad) < len(data) else ", and none of the allowed ones"
            raise ValueError(f"{tag}: {path}: {len(bad)} unknown key(s){shown}; allowed: "
                             f"{', '.join(TightBindingModel._KEYS)}, {', '.join(_FILE_KEYS)}")
        data = dict(data)
        for key in _FILE_KEYS + ("fermi_energy",):  # a path inside the file is relative to the file
            if isinstance(data.get(key), str):
                data[key] = path.parent / Path(data[key]).expanduser()
        reads = any(k in data for k in _FILE_KEYS) or isinstance(data.get("positions"), str) \
            or isinstance(data.get("fermi_energy"), Path)
        file_kwargs = _spec_to_kwargs({k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}) \
            if reads else data
        for key, val in file_kwargs.items():
            if key in out and not _same(out[key], val):
                raise ValueError(f"{tag}: {key} is given both in {path} and in the source mapping")
        out = {**file_kwargs, **out}
    return out


def from_config(spec: Mapping[str, Any]) -> TightBindingModel:
    """A :class:`TightBindingModel` from a config-style mapping, e.g.

    ``{"hr_dat": "seed_hr.dat", "lattice_vectors": [[..], [..]], "spin": "outer",
    "spinful": False, "J": 0.1}``, ``{"hoppings_file": "model.yaml", "J": 0.1}`` (the YAML holds
    lattice_vectors, positions, onsite, hoppings, spin, ...) or the same keys inline.  Paths are
    relative to the working directory.
    """
    return TightBindingModel(source=spec)


# -- sampling any lattice model back to real space -------------------------------------------------------

def hoppings_from_model(model: Model, m, n_R, *, drop_tol: float = 1e-13) -> WannierHR:
    """Real-space hoppings of a lattice model H(k; m) by sampling an N_1 x ... grid and an inverse
    discrete Fourier transform: H(R) = (1/N) sum_k H(k) e^{-i k.R}.

    R runs over the box -N_i/2 <= R_i <= N_i/2; for even N_i the two boundary images R_i = -/+N_i/2
    are the same Fourier component and share it with Wigner-Seitz-like degeneracy 2 (per boundary
    component), so H(k) is reproduced exactly on the grid.  For a model of finite range r
    (H(R) = 0 for |R_i| > r) the result is exact everywhere when N_i > 2 r.  Blocks smaller than
    ``drop_tol`` (with their partner -R) are dropped.

    The model must be periodic in k (H(k + G) = H(k)); a :class:`TightBindingModel` with orbital
    positions is handled by removing its position phases first.  Returns a :class:`WannierHR`
    with R of ``model.dim`` components, ready for :func:`write_wannier90_hr`.
    """
    if model.domain != "lattice":
        raise ValueError(f"model {model.name!r} is not a lattice model: it has no real-space hoppings")
    dim = model.dim
    Ns = (int(n_R),) * dim if np.isscalar(n_R) else tuple(int(x) for x in n_R)
    if len(Ns) != dim or any(x < 1 for x in Ns):
        raise ValueError(f"n_R must be {dim} positive integers, got {n_R!r}")
    m = np.asarray(m, dtype=float)
    if m.shape != (3,):
        raise ValueError(f"m must be one magnetization vector (3,), got shape {m.shape}")
    b = model.reciprocal_vectors()
    tau = None
    if isinstance(model, TightBindingModel) and model._has_tau:
        tau = model._tau

    def periodic_h(k):
        H = model.hamiltonian(k, m)
        if tau is not None:
            p = np.exp(1j * (k @ tau.T))
            H = p[..., :, None] * H * np.conj(p)[..., None, :]
        return H

    # periodicity check (a model in the position-aware gauge is not a plain Fourier series)
    rng = np.random.default_rng(0)
    k0 = rng.uniform(-0.5, 0.5, (3, dim)) @ b
    H0 = periodic_h(k0)
    scale = max(1.0, float(np.abs(H0).max()))
    for i in range(dim):
        if not np.allclose(periodic_h(k0 + b[i]), H0, atol=1e-9 * scale, rtol=0):
            raise ValueError(f"model {model.name!r} is not periodic in k with reciprocal vector b_{i + 1}: "
                             f"hoppings_from_model needs H(k + G) = H(k)")
    axes = [np.arange(x) / x for x in Ns]
    frac = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)  # (N1, ..., dim)
    Hk = periodic_h(frac @ b)  # (N1, ..., n, n)
    n = Hk.shape[-1]
    HR = np.fft.fftn(Hk, axes=tuple(range(dim))) / np.prod(Ns)  # index R mod N
    ranges = [np.arange(-(x // 2), x // 2 + 1) for x in Ns]  # even N: both boundary images
    Rgrid = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, dim)
    Rs, Hs, deg = [], [], []
    for R in Rgrid:
        h = HR[tuple(int(r) % x for r, x in zip(R, Ns))]
        hm = HR[tuple(int(-r) % x for r, x in zip(R, Ns))]
        h = 0.5 * (h + hm.conj().T)  # exact Hermitian pairing
        if np.abs(h).max() <= drop_tol:
            continue
        d = int(np.prod([2 if (x % 2 == 0 and abs(r) == x // 2) else 1 for r, x in zip(R, Ns)]))
        Rs.append(R)
        Hs.append(h)  # stored value: the Bloch sum divides by d
        deg.append(d)
    if not Rs:  # the zero model
        Rs, Hs, deg = [np.zeros(dim, int)], [np.zeros((n, n), complex)], [1]
    return WannierHR(R=np.array(Rs, dtype=np.int64), H=np.array(Hs), ndegen=np.array(deg, dtype=np.int64),
                     header=f"magcore hoppings_from_model: {model!r} at m = {m.tolist()}, grid {Ns}")


__all__ = [
    "TightBindingModel",
    "WannierHR",
    "default_high_symmetry_path",
    "from_config",
    "hoppings_from_model",
    "read_wannier90_hr",
    "write_wannier90_hr",
]
