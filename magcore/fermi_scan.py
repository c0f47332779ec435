"""Fermi scans: the chapter-2 k-sums at many chemical potentials, and for several electron
states (temperature, smearing, relaxation time), from one pass over (k, m).

Every sum of :data:`magcore.quantities.KERNEL_SUMS` has the form sum_n w(E_n - mu) X_n(k, m),
with w the occupation f0 (Fermi sea: curvature, dG/dm), the grand potential g (free energy,
eq. 2.12) or -df0/de (Fermi surface: eqs. 2.11, 2.17-2.19, the density of states) and X_n
independent of mu.  :class:`FermiScan` diagonalises H once per (k, m), deposits the X_n on an
energy axis (:func:`magcore.kernels._chapter2_scan_lanes`) and evaluates every chemical
potential from the deposits:

* T = 0, Fermi sea: exact.  Each band pair (a, b) enters the curvature for mu between E_a and
  E_b, each band the dG/dm and free-energy sums for mu above E_n; the deposits sit at the first
  requested mu at or above each energy (f0 = 1/2 where mu equals an energy), and a cumulative
  sum over mu gives every value, equal to a single-mu run up to the order of the additions.
* T > 0 (Fermi sea) or max(T, smearing) > 0 (Fermi surface): by Taylor moments.  Energies are
  binned with width h <= ``bin_width`` * T around centres e_i, and the moments
  sum X_n (E_n - e_i)^r / r!, r <= order, are accumulated; then
  w(E - mu) = sum_r w^(r)(e_i - mu) (E - e_i)^r / r! + R, with
  |R| <= max|w^(order+1)| (h/2)^(order+1) / (order+1)!.  The derivatives of f0 are polynomials
  in f0 (d f0/dx = f0^2 - f0, x = (E - mu)/T), so every weight is exact; the order is the lowest
  whose bound is below ``tolerance`` (per unit sum |X_n|), and the bound times the sum of |X_n|
  over the bins is returned per component as ``<sum>_error_bound``.  For equally spaced mu the
  bin centres lie on the mu grid and all mu are evaluated at once by an FFT correlation
  (:class:`_Bins`).  States more than 37 T below every mu count as fully occupied (f0 rounds
  to 1 there) and states more than FERMI_WINDOW T above every mu as empty, as in the single-mu
  sums.

Memory: the deposits are held per magnetization of the chunk being summed: (M + 1) x (p(p-1)/2 +
5) numbers for the states at T = 0, and (number of bins) x (order + 1) x (components) for those
at T > 0, with (number of bins) = (mu range + 77 T_max) / h and h <= ``bin_width`` * T_min over
the states (one set of deposits serves every state); k-blocks are streamed through
:meth:`FermiScan.add`, and :func:`scan_over_mesh` sizes its chunks of magnetizations to
:data:`CHUNK_BYTES`.

Supported: two-band models (closed form from the d-vector) and models that declare an exchange
coupling (H = H(k; 0) + m . M: ``tmd``, tight-binding models with an exchange term) with an
m-independent mesh centre (SIMD lanes), as in :func:`magcore.kernels.chapter2_sums`.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import factorial

import numpy as np
from numpy.polynomial import polynomial as _poly
from scipy import fft as sp_fft
from scipy.special import expit

from .electrons import Electrons
from .kernels import fermi_scan_deposits
from .models.base import Model, TwoBandModel
from .occupation import FERMI_WINDOW, grand_potential_per_state
from .quantities import KERNEL_SUMS

TOLERANCE = 1e-12
"""Default bound of the Taylor remainder per unit sum |X_n| (f0 weights; -df0/de weights
relative to their maximum 1 / (4 T)): the order of the moments is the lowest that meets it."""
BIN_WIDTH = 0.5
"""Default bin width in units of the temperature of the weight."""
FULLY_OCCUPIED = 37.0
"""f0 rounds to exactly 1 more than this many T below mu (exp(-37) < 2^-53)."""


def _fermi_derivative_polynomials(n: int) -> list[np.ndarray]:
    """Coefficients (in powers of u = f0) of d^r f0 / dx^r, r = 0 .. n, x = (E - mu) / T."""
    polys = [np.array([0.0, 1.0])]
    for _ in range(n):
        polys.append(_poly.polymul(_poly.polyder(polys[-1]), [0.0, -1.0, 1.0]))
    return polys


_POLYS = _fermi_derivative_polynomials(20)
_U = expit(-np.linspace(-45.0, 45.0, 180001))


def _sup(r: int) -> float:
    """max over x of |d^r f0 / dx^r| (on a grid of spacing 5e-4 plus 1% margin)."""
    return 1.01 * float(np.max(np.abs(_poly.polyval(_U, _POLYS[r]))))


def truncation_bounds(order: int, bin_width: float) -> dict[str, float]:
    """Remainder bounds of the Taylor evaluation per unit sum |X_n|: for f0 weights
    (dimensionless), for g (times T) and for -df0/de (times 1/T)."""
    if order + 2 >= len(_POLYS):
        raise ValueError(f"order must be <= {len(_POLYS) - 3}, got {order}")
    c = (bin_width / 2.0) ** (order + 1) / factorial(order + 1)
    tail = float(np.exp(-FERMI_WINDOW))  # the f0 = 0 cut at FERMI_WINDOW T
    return {"f": _sup(order + 1) * c + tail, "g": _sup(order) * c + tail, "fp": _sup(order + 2) * c + tail}


def _weights(centres: np.ndarray, mu: np.ndarray, T: float, order: int, kind: str) -> np.ndarray:
    """W[j, i, r]: the r-th energy derivative of the weight at e_i - mu_j (kind f, g or fp)."""
    x = (centres[None, :] - mu[:, None]) / T
    u = expit(-x)
    W = np.empty(x.shape + (order + 1,))
    for r in range(order + 1):
        if kind == "f":
            W[..., r] = _poly.polyval(u, _POLYS[r]) / T**r
        elif kind == "fp":
            W[..., r] = _poly.polyval(u, _POLYS[r + 1]) / T ** (r + 1)
        elif r == 0:
            W[..., r] = grand_potential_per_state(centres[None, :], mu[:, None], T)
        else:
            W[..., r] = _poly.polyval(u, _POLYS[r - 1]) / T ** (r - 1)
    return W


class _Bins:
    """Energy bins of width h with centres lo + (i + 1/2) h over every energy whose weight
    varies somewhere in the scan: from 37 T_max below the lowest mu to FERMI_WINDOW T_max above
    the highest, h <= bin_width T_min (T_min, T_max: the lowest and highest temperature the bins
    serve).  For equally spaced mu (spacing Delta) h = Delta / q with q = ceil(Delta /
    (bin_width T_min)) and the centres fall on the mu grid (centre ``origin`` + q j is mu_j), so
    the weights depend on the bin offset only and every mu is evaluated at once by an FFT
    correlation; otherwise h = bin_width T_min and the weights are a dense matrix."""

    def __init__(self, mu: np.ndarray, temperatures: list[float], bin_width: float):
        self.n, self.h, self.lo, self.origin, self.q = 0, 1.0, 0.0, 0, 1
        self.uniform = False
        positive = [T for T in temperatures if T > 0]
        if not positive:
            self.centres = np.zeros(0)
            return
        T_min, T_max = min(positive), max(positive)
        if mu.size > 1:
            delta = (mu[-1] - mu[0]) / (mu.size - 1)
            self.uniform = bool(np.allclose(np.diff(mu), delta, rtol=1e-9, atol=0.0))
        if self.uniform:
            self.q = int(np.ceil(delta / (bin_width * T_min)))
            self.h = delta / self.q
            below = int(np.ceil(FULLY_OCCUPIED * T_max / self.h)) + 1
            above = int(np.ceil(FERMI_WINDOW * T_max / self.h)) + 1
            self.origin = below
            self.n = below + self.q * (mu.size - 1) + above + 1
            self.lo = float(mu[0]) - (below + 0.5) * self.h
        else:
            self.h = bin_width * T_min
            self.lo = float(mu[0]) - FULLY_OCCUPIED * T_max
            self.n = int(np.ceil((float(mu[-1]) + FERMI_WINDOW * T_max - self.lo) / self.h))
        self.centres = self.lo + (np.arange(self.n) + 0.5) * self.h

    def evaluate(self, mom: np.ndarray, mu: np.ndarray, T: float, kind: str) -> np.ndarray:
        """sum_{i, r} w^(r)(e_i - mu_j) mom[..., i, r, c] for every mu_j: (..., M, C)."""
        order = mom.shape[-2] - 1
        if not self.uniform:
            W = _weights(self.centres, mu, T, order, kind).reshape(mu.size, -1)
            return np.matmul(W, mom.reshape(mom.shape[:-3] + (-1, mom.shape[-1])))
        # value[j] = sum_i K[i - s_j] mom[i] with s_j = origin + q j and K[d] = w^(r)(d h)
        M = mu.size
        d = np.arange(-(self.origin + self.q * (M - 1)), self.n - self.origin)
        K = _weights(d * self.h, np.zeros(1), T, order, kind)[0]  # (len(d), R1)
        # correlation as a convolution with the reversed kernel (output index d_max + s_j), the
        # orders r summed in frequency space: one inverse transform per component
        n_fft = sp_fft.next_fast_len(mom.shape[-3] + len(d) - 1, real=True)
        F = sp_fft.rfft(mom, n=n_fft, axis=-3)  # (..., f, R1, C)
        G = sp_fft.rfft(K[::-1], n=n_fft, axis=0)  # (f, R1)
        conv = sp_fft.irfft(np.einsum("...frc,fr->...fc", F, G), n=n_fft, axis=-2)
        s = self.origin + self.q * np.arange(M)
        return conv[..., d[-1] + s, :]


class FermiScan:
    """Chapter-2 k-sums of magnetizations ``m`` (P, 3) at every chemical potential of
    ``chemical_potentials`` (strictly increasing, model energy unit) for the electron state
    ``electrons``, or for each of several states (a sequence of Electrons that may differ in
    temperature, smearing and relaxation time; their ``chemical_potential`` is not used), all
    from one pass over (k, m).

    Add mesh blocks with :meth:`add` (``q`` (K, dim), weights ``w`` (K,)), then
    :meth:`result` (state ``i``) gives the sums of :func:`magcore.kernels.chapter2_sums` with an
    axis of the chemical potentials after the magnetization axis, and the error bounds of the
    evaluation (zero where it is exact).
    """

    def __init__(self, model: Model, m: np.ndarray, electrons: Electrons | Sequence[Electrons],
                 chemical_potentials, *, tolerance: float = TOLERANCE, bin_width: float = BIN_WIDTH,
                 order: int | None = None):
        mu = np.asarray(chemical_potentials, dtype=float).reshape(-1)
        if mu.size == 0 or not np.all(np.isfinite(mu)) or np.any(np.diff(mu) <= 0):
            raise ValueError("chemical_potentials must be finite and strictly increasing")
        states = [electrons] if isinstance(electrons, Electrons) else list(electrons)
        if not states or len({e.degeneracy_tol for e in states}) != 1:
            raise ValueError("give at least one electron state, all with the same degeneracy_tol")
        centres = model.k_center(np.asarray(m, dtype=float).reshape(-1, 3))
        if not isinstance(model, TwoBandModel) and (model.exchange_coupling() is None
                                                    or not np.all(centres == centres[:1])):
            raise NotImplementedError(f"Fermi scans need a two-band model, or a model with an exchange coupling and "
                                      f"an m-independent mesh centre; {model.name!r} is neither")
        if not 0 < bin_width <= 2:
            raise ValueError(f"bin_width must be in (0, 2], got {bin_width}")
        self.model, self.states, self.mu = model, states, mu
        self.m = np.asarray(m, dtype=float).reshape(-1, 3)
        dim = model.dim
        nop = dim + 3
        self._nt = nop * (nop - 1) // 2
        Ts = [float(e.temperature) for e in states]
        Tfs = [float(e.fermi_surface_temperature) for e in states]
        self._sea = _Bins(mu, Ts, bin_width)
        self._surface = _Bins(mu, Tfs, bin_width)
        if order is None:  # the lowest order that meets the tolerance for every state
            order = 2
            while order < 16 and max([truncation_bounds(order, self._sea.h / T)["f"] for T in Ts if T > 0]
                                     + [truncation_bounds(order, self._surface.h / T)["fp"] / 4 for T in Tfs if T > 0]
                                     + [0.0]) > tolerance:
                order += 1
        self.order = order
        P, M, R1, nt = len(self.m), mu.size, order + 1, self._nt
        cs, cf = nt + 5, 3 * nop + 1 + 18 * dim
        self._sc = (mu, np.zeros((P, M + 1, cs)), np.zeros((P, M + 1, cs)), np.zeros((P, cs)),
                    np.zeros((P, self._sea.n, R1, nt + 4)), np.zeros((P, self._surface.n, R1, cf)),
                    np.zeros((P, nt + 4)), np.zeros((P, cf)), np.zeros((P, len(states), M), np.int64))
        self._grid = np.array([self._sea.lo, self._sea.h, self._surface.lo, self._surface.h])

    @staticmethod
    def nbytes_per_point(model: Model, states: Sequence[Electrons], chemical_potentials, **options) -> int:
        """Memory of the deposits of one magnetization (for sizing chunks)."""
        return FermiScan(model, np.zeros((1, 3)), states, chemical_potentials, **options).nbytes()

    def nbytes(self) -> int:
        """Memory held by the deposits."""
        return sum(x.nbytes for x in self._sc[1:])

    def add(self, q: np.ndarray, w: np.ndarray) -> "FermiScan":
        """Deposit the mesh block ``q`` (K, dim) with weights ``w`` (K,)."""
        fermi_scan_deposits(self.model, self.m, q, w, self.states, self._grid, self._sc)
        return self

    def result(self, i: int = 0) -> dict[str, np.ndarray]:
        """The sums of :data:`KERNEL_SUMS` of state ``i`` at every chemical potential, shapes
        (P, M, ...), and ``<sum>_error_bound`` (P, ...) of the Taylor evaluation (zero where it
        is exact)."""
        mu, step, tie, below, mom, momf, absm, absf, ndeg = self._sc
        electrons = self.states[i]
        P, M = len(self.m), mu.size
        dim = self.model.dim
        nop, nt = dim + 3, self._nt
        T, T_fs = float(electrons.temperature), float(electrons.fermi_surface_temperature)
        tau = float(electrons.relaxation_time)
        iu = np.triu_indices(nop, 1)
        out = {s.name: np.zeros((P, M) + s.size(dim), dtype=s.dtype) for s in KERNEL_SUMS}
        bound = {s.name: np.zeros((P,) + s.size(dim)) for s in KERNEL_SUMS if s.dtype == "float64"}
        if T == 0.0:
            cum = np.cumsum(step[:, :M], axis=1)
            sea = cum[..., :nt + 3] + 0.5 * tie[:, :M, :nt + 3]
            G = cum[..., nt + 4] - mu[None, :] * cum[..., nt + 3]
        else:
            sea = self._sea.evaluate(mom[..., :nt + 3], mu, T, "f") + below[:, None, :nt + 3]
            G = (self._sea.evaluate(mom[..., nt + 3:nt + 4], mu, T, "g")[..., 0] + below[:, None, nt + 4]
                 - mu[None, :] * below[:, None, nt + 3])
            b = truncation_bounds(self.order, self._sea.h / T)
            curv = np.zeros((P, nop, nop))
            curv[:, iu[0], iu[1]] = b["f"] * absm[:, :nt]
            bound["sea_curvature"] = curv + np.swapaxes(curv, 1, 2)
            bound["hellmann_feynman"] = b["f"] * absm[:, nt:nt + 3]
            bound["free_energy"] = b["g"] * T * absm[:, nt + 3]
        curv = np.zeros((P, M, nop, nop))
        curv[:, :, iu[0], iu[1]] = sea[..., :nt]
        out["sea_curvature"] = curv - np.swapaxes(curv, 2, 3)
        out["hellmann_feynman"] = sea[..., nt:nt + 3]
        out["free_energy"] = G
        if T_fs > 0.0:
            surf = self._surface.evaluate(momf, mu, T_fs, "fp")  # sum w f0' X_n
            bf = truncation_bounds(self.order, self._surface.h / T_fs)["fp"] / T_fs * absf
            vel = np.zeros((P, M, nop, nop))
            vel[..., dim:] = -tau * surf[..., :3 * nop].reshape(P, M, nop, 3)
            out["surface_velocities"] = vel
            bvel = np.zeros((P, nop, nop))
            bvel[..., dim:] = tau * bf[:, :3 * nop].reshape(P, nop, 3)
            bound["surface_velocities"] = bvel
            out["density_of_states"] = -surf[..., 3 * nop]
            bound["density_of_states"] = bf[:, 3 * nop]
            o = 3 * nop + 1
            X = tau * surf[..., o:o + 9 * dim].reshape(P, M, dim, 3, 3)
            Y = tau * surf[..., o + 9 * dim:].reshape(P, M, dim, 3, 3)
            XT = np.swapaxes(X, -1, -2)
            out["berry_curvature_mm_E"] = Y - 0.5 * (X - XT)
            out["damping_E"] = 0.5 * (X + XT)
            bX = tau * bf[:, o:o + 9 * dim].reshape(P, dim, 3, 3)
            bY = tau * bf[:, o + 9 * dim:].reshape(P, dim, 3, 3)
            bXT = np.swapaxes(bX, -1, -2)
            bound["berry_curvature_mm_E"] = bY + 0.5 * (bX + bXT)
            bound["damping_E"] = 0.5 * (bX + bXT)
        out["n_degenerate"] = ndeg[:, i].copy()
        out.update({f"{key}_error_bound": val for key, val in bound.items()})
        return out


CHUNK_BYTES = 256 * 2**20
"""Deposits held per task of :func:`scan_over_mesh` (chunks of magnetizations are sized to it)."""


def _scan_chunk(model, states, mu, options, mesh, k_block, m):
    """One task of :func:`scan_over_mesh`: a chunk of magnetizations over the whole mesh, the
    sums of every state as one dict (keys ``<state>:<sum>``)."""
    fs = FermiScan(model, m, states, mu, **options)
    for q, w in mesh.blocks(k_block):
        fs.add(q, w)
    return {f"{i}:{key}": val for i in range(len(states)) for key, val in fs.result(i).items()}


def scan_over_mesh(model: Model, m: np.ndarray, mesh, states: Sequence[Electrons], chemical_potentials, *,
                   client=None, points_per_chunk: int = 64, k_block: int = 4096, checkpoints=None,
                   **options) -> list[dict[str, np.ndarray]]:
    """:class:`FermiScan` of the magnetizations ``m`` (P, 3) over a whole :class:`magcore.kmesh.KMesh`
    for the electron ``states``, in chunks of at most ``points_per_chunk`` magnetizations whose
    deposits fit in :data:`CHUNK_BYTES` (one task each, on the Dask ``client`` if given), the mesh
    streamed in blocks of ``k_block`` points.  Returns, per state, the sums (P, M, ...) and their
    error bounds (P, ...)."""
    from .engine.mapreduce import chunks_of, map_reduce

    m = np.asarray(m, dtype=float).reshape(-1, 3)
    mu = np.asarray(chemical_potentials, dtype=float)
    states = list(states)
    per_point = FermiScan.nbytes_per_point(model, states, mu, **options)  # bad input fails here
    size = max(1, min(points_per_chunk, CHUNK_BYTES // max(per_point, 1)))
    chunks = chunks_of(len(m), size, lambda items: (m[items],))
    results = map_reduce(_scan_chunk, chunks, shared=(model, states, mu, options, mesh, k_block),
                         n_items=len(m), client=client, checkpoints=checkpoints, label="Fermi scan")
    flat = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    return [{key.split(":", 1)[1]: val for key, val in flat.items() if key.split(":", 1)[0] == str(i)}
            for i in range(len(states))]


def fermi_scan_sums(model: Model, m: np.ndarray, q: np.ndarray, w: np.ndarray, electrons: Electrons,
                    chemical_potentials, **options) -> dict[str, np.ndarray]:
    """:class:`FermiScan` of one mesh block: the chapter-2 k-sums at every chemical potential."""
    return FermiScan(model, m, electrons, chemical_potentials, **options).add(q, w).result()


__all__ = ["BIN_WIDTH", "CHUNK_BYTES", "FermiScan", "TOLERANCE", "fermi_scan_sums", "scan_over_mesh",
           "truncation_bounds"]
