"""Batch integrator: many independent trajectories on the unit sphere at once.

Embedded Runge-Kutta 5(4) of Dormand and Prince (the pair of ``scipy.integrate.RK45``) with a
step size, an error estimate and an accept/reject decision *per trajectory*, all vectorised
over the batch (the Python loop runs over steps, never over trajectories).  Each trajectory
keeps its own time; finished ones leave the active set.  After every accepted step m is
renormalised, m <- m / |m|: the vector field m_dot(m / |m|) is tangent to every sphere, so the
exact flow preserves |m| and the projection only removes the O(tol) drift of the step; |m| = 1
then holds to round-off for any number of steps.

Error control on m: RMS over the three components of err / (atol + rtol max(|m_old|, |m_new|)),
step factor 0.9 err^(-1/5) clipped to [0.2, 10] (no growth after a rejection).  Auxiliary
quadratures (here the work of non-conservative fields and the dissipated energy) ride along
without error control.  Dense output: the quartic interpolant of Dormand-Prince (Shampine),
used to record states at requested times without shortening steps.

Stopping per trajectory: t = t_end (status 0); step size below 1e4 eps max(1, t) (bit 1:
the field is singular or non-smooth there, e.g. a Faraday field at its singular point);
``max_steps`` accepted + rejected steps (bit 2); non-finite state (bit 4).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..engine.progress import Progress

log = logging.getLogger(__name__)

STATUS_OK = 0
STATUS_STEP_UNDERFLOW = 1
STATUS_MAX_STEPS = 2
STATUS_NON_FINITE = 4
STATUS_STOPPED = 8
STATUS_MEANINGS = "step_size_underflow max_steps_reached non_finite_state stopped_by_event"

# Dormand-Prince 5(4) tableau, error weights and dense-output polynomial (as in scipy's RK45)
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
_A = [np.array([]), np.array([1 / 5]), np.array([3 / 40, 9 / 40]), np.array([44 / 45, -56 / 15, 32 / 9]),
      np.array([19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729]),
      np.array([9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656])]
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
_E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])
_P = np.array([
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423]])


@dataclass
class Recording:
    """States at ``times`` for the trajectories ``index`` (rows of the batch):
    ``y`` (len(index), len(times), 3 + n_aux), NaN where not reached."""

    times: np.ndarray
    index: np.ndarray
    y: np.ndarray = field(repr=False)

    @property
    def m(self) -> np.ndarray:
        return self.y[..., :3]

    @property
    def aux(self) -> np.ndarray:
        return self.y[..., 3:]


@dataclass
class Result:
    t: np.ndarray            # (N,) time reached
    m: np.ndarray            # (N, 3) final unit vectors
    aux: np.ndarray          # (N, n_aux) final auxiliary integrals
    n_steps: np.ndarray      # accepted steps
    n_rejected: np.ndarray
    status: np.ndarray       # bit mask, 0 = reached t_end
    recordings: list[Recording]
    wall_time: float = 0.0


def _lincomb(c, K):
    """sum_j c_j K_j with elementwise operations only, so every trajectory's result is
    independent of the batch it is computed in (BLAS reductions are not)."""
    out = None
    for j, cj in enumerate(c):
        if cj != 0.0:
            out = cj * K[j] if out is None else out + cj * K[j]
    return out


def _rms(x):
    return np.sqrt(np.mean(x * x, axis=-1))


_EPS = np.finfo(float).eps


@dataclass
class _Recorder:
    """Dense output for one recording request: the :class:`Recording` being filled, ``row``
    (batch row -> its row in the recording, -1: not recorded) and ``next`` (per recorded row,
    the index of its first time not yet recorded)."""

    rec: Recording
    row: np.ndarray
    next: np.ndarray

    @classmethod
    def start(cls, times, index, y0: np.ndarray, t_end: float) -> "_Recorder":
        """A recorder of the batch rows ``index`` (None: all) at ``times``, with the initial
        states ``y0`` at times <= 0."""
        times = np.asarray(times, float)
        if np.any(np.diff(times) < 0) or (len(times) and (times[0] < 0 or times[-1] > t_end * (1 + 1e-12))):
            raise ValueError("recording times must be sorted and within [0, t_end]")
        n = len(y0)
        index = np.arange(n) if index is None else np.asarray(index, dtype=np.int64)
        rec = Recording(times, index, np.full((len(index), len(times), y0.shape[1]), np.nan))
        row = np.full(n, -1, dtype=np.int64)
        row[index] = np.arange(len(index))
        first = np.searchsorted(times, 0.0, side="right")  # times <= 0: the initial state
        rec.y[:, :first] = y0[index][:, None, :]
        return cls(rec, row, np.full(len(index), first, dtype=np.int64))

    def fill(self, Aok: np.ndarray, iok: np.ndarray, tA: np.ndarray, hA: np.ndarray, yA: np.ndarray,
             K: np.ndarray) -> None:
        """Record the recording times inside the accepted steps (batch rows ``Aok``, rows
        ``iok`` of the active arrays ``tA``, ``hA``, ``yA``, stages ``K``) from the quartic
        dense-output polynomial, m renormalised."""
        rec, ptr = self.rec, self.next
        rows = self.row[Aok]
        sel = np.nonzero(rows >= 0)[0]
        while sel.size:
            r = rows[sel]
            p = ptr[r]
            valid = p < len(rec.times)
            sel, r, p = sel[valid], r[valid], p[valid]
            if not sel.size:
                break
            j = iok[sel]
            tt = rec.times[p]
            inside = tt <= tA[j] + hA[j] * (1 + 1e-14)
            sel, r, p, j, tt = sel[inside], r[inside], p[inside], j[inside], tt[inside]
            if not sel.size:
                break
            x = np.clip((tt - tA[j]) / hA[j], 0.0, 1.0)
            poly = np.stack([x, x * x, x ** 3, x ** 4], axis=-1)  # (n, 4)
            Q = np.einsum("knd,kq->ndq", K[:, j], _P)  # (n, D, 4)
            val = yA[j] + hA[j, None] * np.einsum("ndq,nq->nd", Q, poly)
            val[:, :3] /= np.linalg.norm(val[:, :3], axis=1, keepdims=True)
            rec.y[r, p] = val
            ptr[r] += 1


@dataclass
class _Batch:
    """State of every trajectory: ``y`` (N, 3 + n_aux) = (m, aux), its rate ``f``, time ``t``,
    next step size ``h``, accepted and rejected step counts, ``status`` bits and ``done``
    (out of the active set)."""

    y: np.ndarray
    f: np.ndarray
    t: np.ndarray
    h: np.ndarray
    n_steps: np.ndarray
    n_rejected: np.ndarray
    status: np.ndarray
    done: np.ndarray

    def end(self, rows: np.ndarray, bit: int) -> None:
        """Take ``rows`` out of the active set with status ``bit``."""
        self.status[rows] |= bit
        self.done[rows] = True


def _unit_initial_vectors(m0, t_end: float) -> np.ndarray:
    """``m0`` as (N, 3) unit vectors; raises on t_end <= 0 or zero or non-finite vectors."""
    m0 = np.atleast_2d(np.asarray(m0, float))
    if t_end <= 0:
        raise ValueError(f"t_end must be > 0, got {t_end}")
    nrm = np.linalg.norm(m0, axis=1, keepdims=True)
    if np.any(nrm == 0) or not np.all(np.isfinite(m0)):
        raise ValueError("initial vectors must be finite and non-zero")
    return m0 / nrm


def _state_rate(rate: Callable, n_aux: int) -> Callable:
    """The rate of the state y = (m, aux): rows idx of y (P, 3 + n_aux) -> (P, 3 + n_aux)."""
    def F(y, idx):
        out = rate(y[:, :3], idx)
        if n_aux:
            md, ax = out
            return np.concatenate([md, ax], axis=1)
        return out
    return F


def _initial_step(F: Callable, y: np.ndarray, f: np.ndarray, t_end: float, rtol: float, atol: float,
                  first_step: float | None, max_step: float) -> np.ndarray:
    """First step size of every trajectory: ``first_step`` if given, else the estimate of
    Hairer, Norsett & Wanner II.4 (vectorised); at most ``max_step`` and ``t_end``."""
    if first_step is None:
        all_idx = np.arange(len(y))
        scale = atol + rtol * np.abs(y[:, :3])
        d0 = _rms(y[:, :3] / scale)
        d1 = _rms(f[:, :3] / scale)
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
        h0 = np.minimum(h0, t_end)
        f1 = F(y + h0[:, None] * f, all_idx)
        d2 = _rms((f1[:, :3] - f[:, :3]) / scale) / h0
        dm = np.maximum(d1, d2)
        h1 = np.where(dm <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(dm, 1e-300)) ** 0.2)
        h = np.minimum(100 * h0, h1)
    else:
        h = np.full(len(y), float(first_step))
    return np.minimum(h, min(max_step, t_end))


def _dormand_prince_step(F: Callable, yA: np.ndarray, fA: np.ndarray, hA: np.ndarray,
                         A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Dormand-Prince step of the active rows ``A`` (states ``yA``, rates ``fA``, steps
    ``hA``): the 5th-order solution and the seven stages K (7, P, D), K[6] its rate."""
    K = np.empty((7, len(A), yA.shape[1]))
    K[0] = fA
    for s in range(1, 6):
        K[s] = F(yA + hA[:, None] * _lincomb(_A[s], K), A)
    y_new = yA + hA[:, None] * _lincomb(_B, K)
    K[6] = F(y_new, A)
    return y_new, K


def _error_control(yA: np.ndarray, y_new: np.ndarray, K: np.ndarray, hA: np.ndarray, rtol: float,
                   atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Whether each step is accepted (scaled RMS error of m <= 1, finite) and the factor of its
    next step size: 0.9 err^(-1/5) clipped to [0.2, 10], at most 1 after a rejection."""
    err = hA[:, None] * _lincomb(_E, K[:, :, :3])
    scale = atol + rtol * np.maximum(np.abs(yA[:, :3]), np.abs(y_new[:, :3]))
    en = _rms(err / scale)
    finite = np.isfinite(en) & np.all(np.isfinite(K[6]), axis=1)
    en = np.where(finite, en, np.inf)
    ok = en <= 1.0
    with np.errstate(divide="ignore"):
        fac = np.where(en == 0, 10.0, 0.9 * en ** -0.2)
    fac = np.clip(fac, 0.2, 10.0)
    return ok, np.where(ok, fac, np.minimum(fac, 1.0))


def _accept(b: _Batch, Aok: np.ndarray, yn: np.ndarray, fn: np.ndarray, t_next: np.ndarray, t_end: float,
            stop: Callable | None) -> None:
    """Move the rows ``Aok`` to their new states ``yn`` (m renormalised here) with rates ``fn``
    at ``t_next``; rows at t_end, or where ``stop`` says so, leave the active set."""
    yn[:, :3] /= np.linalg.norm(yn[:, :3], axis=1, keepdims=True)
    b.y[Aok] = yn
    b.f[Aok] = fn
    b.t[Aok] = np.where(t_end - t_next <= 4 * _EPS * max(1.0, t_end), t_end, t_next)
    b.n_steps[Aok] += 1
    b.done[Aok[b.t[Aok] >= t_end]] = True
    if stop is not None:
        hit = np.asarray(stop(yn[:, :3], Aok), bool) & ~b.done[Aok]
        b.end(Aok[hit], STATUS_STOPPED)


def _end_failed(b: _Batch, A: np.ndarray, ok: np.ndarray, tA: np.ndarray, max_steps: int) -> None:
    """Count the rejected steps of the active rows ``A`` and end the trajectories whose step size
    underflowed, whose state is not finite, or which used up ``max_steps``."""
    if (~ok).any():
        b.n_rejected[A[~ok]] += 1
    under = (~ok) & (b.h[A] < 1e4 * _EPS * np.maximum(1.0, np.abs(tA)))
    if under.any():
        b.end(A[under], STATUS_STEP_UNDERFLOW)
    nonfin = ~np.all(np.isfinite(b.y[A]), axis=1)
    if nonfin.any():
        b.end(A[nonfin], STATUS_NON_FINITE)
    over = (b.n_steps[A] + b.n_rejected[A]) >= max_steps
    if over.any():
        b.status[A[over & ~b.done[A]]] |= STATUS_MAX_STEPS
        b.done[A[over]] = True


def _advance(b: _Batch, A: np.ndarray, F: Callable, recorders: list[_Recorder], t_end: float, rtol: float,
             atol: float, max_step: float, max_steps: int, stop: Callable | None) -> None:
    """One step attempt of every active trajectory (rows ``A``): accepted steps move on (and
    are recorded), every step size is adapted, failed trajectories end."""
    yA, tA = b.y[A], b.t[A]
    hA = np.minimum(np.minimum(b.h[A], t_end - tA), max_step)
    y_new, K = _dormand_prince_step(F, yA, b.f[A], hA, A)
    ok, fac = _error_control(yA, y_new, K, hA, rtol, atol)
    b.h[A] = hA * fac
    b.h[A] = np.minimum(b.h[A], max_step)
    if ok.any():
        iok = np.nonzero(ok)[0]
        for recorder in recorders:
            recorder.fill(A[iok], iok, tA, hA, yA, K)
        _accept(b, A[iok], y_new[iok], K[6][iok], tA[iok] + hA[iok], t_end, stop)
    _end_failed(b, A, ok, tA, max_steps)


def _trajectories_done(b: _Batch, t_end: float) -> float:
    """The batch's progress in trajectories: each counts the fraction of [0, t_end] it has
    integrated, an ended one 1."""
    return float(np.where(b.done, 1.0, b.t / t_end).sum())


def integrate(rate: Callable, m0: np.ndarray, t_end: float, *, n_aux: int = 0, rtol: float = 1e-8,
              atol: float = 1e-10, first_step: float | None = None, max_step: float = np.inf,
              max_steps: int = 1_000_000, record: Sequence[tuple[np.ndarray, np.ndarray | None]] = (),
              stop: Callable | None = None, progress_every: float = 5.0) -> Result:
    """Integrate m_dot = rate(m, idx) for a batch m0 (N, 3) from t = 0 to ``t_end`` (the LLG
    equation, eqs. 2.15, 2.26, in :func:`integrate_llg`; times in the unit of 1 / rate).

    ``rate(m, idx)`` gets the rows ``idx`` of the batch and returns m_dot (P, 3), or with
    ``n_aux`` > 0 a pair (m_dot, aux_dot (P, n_aux)) (e.g. ``lambda m, i: llg.rate(m, i,
    power=True)``, n_aux = 2).  ``record``: pairs (times, indices) of sorted output times in
    [0, t_end] and the batch rows to record (None: all).  ``stop(m, idx) -> bool (P,)`` ends a
    trajectory after an accepted step (status bit 8), e.g. on reaching a singular point of the
    field.  Progress (trajectories done, rate, time left, how many still run) is logged every
    ``progress_every`` seconds.  Returns a :class:`Result`.
    """
    m0 = _unit_initial_vectors(m0, t_end)
    N = len(m0)
    F = _state_rate(rate, n_aux)
    y = np.zeros((N, 3 + n_aux))
    y[:, :3] = m0
    f = F(y, np.arange(N))
    recorders = [_Recorder.start(times, index, y, t_end) for times, index in record]
    b = _Batch(y=y, f=f, t=np.zeros(N), h=_initial_step(F, y, f, t_end, rtol, atol, first_step, max_step),
               n_steps=np.zeros(N, dtype=np.int64), n_rejected=np.zeros(N, dtype=np.int64),
               status=np.zeros(N, dtype=np.int8), done=np.zeros(N, dtype=bool))
    b.end(np.nonzero(~np.all(np.isfinite(f), axis=1))[0], STATUS_NON_FINITE)
    started = time.monotonic()
    progress = Progress(f"llg: batch of {N} trajectories", N, progress_every, unit="trajectories", last_line=False)
    while True:
        A = np.nonzero(~b.done)[0]
        if len(A) == 0:
            break
        _advance(b, A, F, recorders, t_end, rtol, atol, max_step, max_steps, stop)
        progress.update(_trajectories_done(b, t_end), f"{int((~b.done).sum())} still running")

    return Result(t=b.t, m=b.y[:, :3].copy(), aux=b.y[:, 3:].copy(), n_steps=b.n_steps, n_rejected=b.n_rejected,
                  status=b.status, recordings=[r.rec for r in recorders], wall_time=time.monotonic() - started)


def integrate_llg(llg, m0, t_end, *, singular_radius: float | None = None, **kwargs) -> Result:
    """:func:`integrate` for an :class:`~magcore.llg.model.LLG`, with the work of the
    non-conservative fields and the dissipated energy as auxiliary integrals (aux[:, 0] = W_in,
    aux[:, 1] = W_diss).  With ``singular_radius`` (rad) a trajectory stops (status bit 8) when
    it comes that close to a singular point of the fields (``llg.singular_points``), where
    the semiclassical field diverges or has no limit (the gap closes)."""
    stop = None
    if singular_radius is not None and singular_radius > 0:
        stop = lambda m, idx: llg.near_singular_point(m, idx, singular_radius)  # noqa: E731
    return integrate(lambda m, idx: llg.rate(m, idx, power=True), m0, t_end, n_aux=2, stop=stop, **kwargs)
