"""Classification of the final state of trajectories from samples of their tail.

Input: for each trajectory, samples m_k (unit vectors) and the work/dissipation integrals
(W_in, W_diss)_k at uniformly spaced times t_k covering a tail window [t_end - T_tail, t_end],
plus the integrator status.  Criteria (all thresholds in :class:`ClassifyOptions`):

* ``integration_failed`` (class 4): the integrator stopped before t_end (step-size underflow,
  ``max_steps``, non-finite state), see :mod:`magcore.llg.integrate`.
* ``singular_point`` (class 3): the trajectory was stopped on reaching a singular point of the
  fields (where the gap closes and the semiclassical field diverges, e.g. m = +/-y for the
  Faraday field of the 2D-TI edge).
* ``fixed_point`` (class 0): the angular displacement max_k angle(m_k, m_final) over the last
  ``settle_fraction`` of the tail is below ``fixed_tol`` (rad).  The nearest of the given
  ``minima`` within ``minimum_tol`` (rad) is reported as ``minimum_index`` (-1: none).
* ``limit_cycle`` (class 1; for eta = 0 also a periodic orbit of a conservative flow):
  the winding axis a = normalise(sum_k m_k x m_(k+1)) (the sense of rotation: for a circle of
  angular radius r about n traversed positively, sum m x dm = 2 pi sin^2 r n; recomputed over
  the last n_check whole turns, closed through the section points); the azimuth psi of m about
  a is unwrapped and the Poincare section is the half-plane psi = psi_0 (mod 2 pi).  The
  sampling must resolve the motion (well under half a turn per sample).
  A cycle needs >= ``n_check`` + 1 section crossings in the tail, a period spread
  (max - min) / mean over the last ``n_check`` periods below ``period_rtol``, return distances
  angle(m(t_j), m(t_(j+1))) between consecutive crossings below ``return_tol`` (rad), and - when
  the energy balance dE/dt = P_in - P_diss holds (scalar gamma, no tau_so) - a balance
  |W_in - W_diss| per period below ``balance_rtol`` max(W_in, W_diss) (or both below
  ``balance_atol``): a slowly decaying spiral, whose returns also look almost periodic, loses
  W_diss per turn and fails this test.  Crossing times and states are refined by cubic
  (4-point Lagrange) interpolation of the samples.
* ``unresolved`` (class 2): none of the above by t_end (still relaxing, quasi-periodic, chaotic,
  sampling too coarse for the period, ...).  Increase ``t_end`` or the tail sampling.

Cycle properties (last full period): ``period``; polar angle theta_a(t) of m about the winding
axis a: ``amplitude`` = (max - min) / 2 of theta_a (the nutation seen in Fig. 2.13),
``cone_angle`` = time average of theta_a (the precession cone), ``cycle_polar_min/max``;
``cycle_axis`` = a (signed: the rotation is positive about it); ``cycle_center`` =
normalise(time average of m); work input ``W_in`` and dissipation ``W_diss`` per period;
``n_turns`` about a in the tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import angle_between, cross, tangent_frame
from .integrate import STATUS_STOPPED

FIXED_POINT, LIMIT_CYCLE, UNRESOLVED, SINGULAR_POINT, INTEGRATION_FAILED = 0, 1, 2, 3, 4
CLASS_VALUES = [FIXED_POINT, LIMIT_CYCLE, UNRESOLVED, SINGULAR_POINT, INTEGRATION_FAILED]
CLASS_MEANINGS = "fixed_point limit_cycle unresolved singular_point integration_failed"


@dataclass(frozen=True)
class ClassifyOptions:
    settle_fraction: float = 0.25
    fixed_tol: float = 1e-4
    minimum_tol: float = 0.1
    n_check: int = 3
    period_rtol: float = 2e-3
    return_tol: float = 2e-3
    balance_rtol: float = 2e-2
    balance_atol: float = 1e-9

    def __post_init__(self):
        if not 0 < self.settle_fraction <= 1:
            raise ValueError("settle_fraction must be in (0, 1]")
        if self.n_check < 1:
            raise ValueError("n_check must be >= 1")

    def describe(self) -> str:
        return ("fixed point: max angle(m_k, m_end) over the last {s:g} of the tail < {f:g} rad; "
                "limit cycle: >= {n1} Poincare-section returns about the winding axis in the tail, period "
                "spread < {p:g} (relative), return distance < {r:g} rad, |W_in - W_diss| per period < {b:g} "
                "max(W_in, W_diss) or both < {ba:g}; singular point: stopped near a singular point of "
                "the fields; unresolved otherwise").format(
            s=self.settle_fraction, f=self.fixed_tol, n1=self.n_check + 1, p=self.period_rtol,
            r=self.return_tol, b=self.balance_rtol, ba=self.balance_atol)


def _lagrange_weights(s):
    """Weights of the cubic through nodes -1, 0, 1, 2 at positions s (n,), and of its derivative."""
    w = np.stack([-s * (s - 1) * (s - 2) / 6, (s + 1) * (s - 1) * (s - 2) / 2,
                  -(s + 1) * s * (s - 2) / 2, (s + 1) * s * (s - 1) / 6], axis=-1)
    dw = np.stack([-(3 * s * s - 6 * s + 2) / 6, (3 * s * s - 4 * s - 1) / 2,
                   -(3 * s * s - 2 * s - 2) / 2, (3 * s * s - 1) / 6], axis=-1)
    return w, dw


def _empty_result(N: int) -> dict[str, np.ndarray]:
    """Per-trajectory outputs before classification: class unresolved, no minimum, no cycle."""
    return {
        "final_class": np.full(N, UNRESOLVED, dtype=np.int8),
        "minimum_index": np.full(N, -1, dtype=np.int16),
        "period": np.full(N, np.nan), "amplitude": np.full(N, np.nan), "cone_angle": np.full(N, np.nan),
        "cycle_axis": np.full((N, 3), np.nan), "cycle_center": np.full((N, 3), np.nan),
        "cycle_polar_min": np.full(N, np.nan), "cycle_polar_max": np.full(N, np.nan),
        "work_input_per_period": np.full(N, np.nan), "dissipation_per_period": np.full(N, np.nan),
        "n_turns": np.zeros(N), "settle_displacement": np.full(N, np.nan),
    }


@dataclass
class _Winding:
    """Rotation of each trajectory about its rough winding axis ``axis`` (normalised sum of
    m_k x m_(k+1); z where undefined, ``defined`` False): the unwrapped azimuth ``psi`` about
    it, whole turns ``level`` since the first sample and the (fractional) ``turns``."""

    axis: np.ndarray
    defined: np.ndarray
    psi: np.ndarray
    level: np.ndarray
    turns: np.ndarray


def _winding(mm: np.ndarray, finite: np.ndarray) -> _Winding:
    """:class:`_Winding` of the samples ``mm`` (N, n, 3) (zero where not ``finite``)."""
    area = cross(mm[:, :-1], mm[:, 1:]).sum(axis=1)
    an = np.linalg.norm(area, axis=1)
    ok_axis = finite & (an > 0)
    a = np.where(ok_axis[:, None], area / np.where(an > 0, an, 1.0)[:, None], np.array([0.0, 0.0, 1.0]))
    u, w = tangent_frame(a)
    psi = np.unwrap(np.arctan2(np.einsum("nki,ni->nk", mm, w), np.einsum("nki,ni->nk", mm, u)), axis=1)
    turns = (psi[:, -1] - psi[:, 0]) / (2 * np.pi)
    level = np.floor((psi - psi[:, :1]) / (2 * np.pi))
    return _Winding(a, ok_axis, psi, level, turns)


def _section_crossings(times: np.ndarray, m: np.ndarray, work: np.ndarray | None, wind: _Winding):
    """Crossings of the Poincare section psi = psi_0 (mod 2 pi): trajectory ``tr`` of each,
    its time, state (renormalised) and work integrals, refined by Newton on the cubic
    (4-point Lagrange) interpolant of psi through the samples around the crossing."""
    n = m.shape[1]
    dt = times[1] - times[0]
    psi, level = wind.psi, wind.level
    cross_ev = (level[:, 1:] > level[:, :-1]) & wind.defined[:, None]
    tr, kk = np.nonzero(cross_ev)  # crossing between samples kk and kk+1 of trajectory tr
    target = psi[tr, 0] + 2 * np.pi * level[tr, kk + 1]
    base = np.clip(kk - 1, 0, n - 4)
    nodes = base[:, None] + np.arange(4)[None, :]
    P4 = psi[tr[:, None], nodes]
    s = np.clip((target - psi[tr, kk]) / (psi[tr, kk + 1] - psi[tr, kk]), 0.0, 1.0) + kk - base - 1
    lo, hi = kk - base - 1.0, kk - base
    for _ in range(4):  # Newton on the cubic, kept inside the bracketing interval
        wgt, dwgt = _lagrange_weights(s)
        g = (wgt * P4).sum(1) - target
        dg = (dwgt * P4).sum(1)
        s = np.clip(s - g / np.where(dg > 0, dg, np.inf), lo, hi)
    wgt, _ = _lagrange_weights(s)
    t_c = times[0] + dt * (base + 1 + s)
    m_c = np.einsum("ek,eki->ei", wgt, m[tr[:, None], nodes])
    m_c /= np.linalg.norm(m_c, axis=1, keepdims=True)
    W_c = np.einsum("ek,eki->ei", wgt, work[tr[:, None], nodes]) if work is not None else np.zeros((len(tr), 2))
    return tr, t_c, m_c, W_c


def _last_crossings(N: int, need: int, tr, t_c, m_c, W_c):
    """The last ``need`` crossings of each trajectory: times (N, need), states (N, need, 3), work
    integrals (N, need, 2) (NaN where fewer), and whether a trajectory has ``need``."""
    counts = np.bincount(tr, minlength=N)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(tr)) - first[tr]
    col = rank - (counts[tr] - need)
    keep = col >= 0
    T = np.full((N, need), np.nan)
    MC = np.full((N, need, 3), np.nan)
    WC = np.full((N, need, 2), np.nan)
    T[tr[keep], col[keep]] = t_c[keep]
    MC[tr[keep], col[keep]] = m_c[keep]
    WC[tr[keep], col[keep]] = W_c[keep]
    return T, MC, WC, counts >= need


def _refined_axis(times: np.ndarray, mm: np.ndarray, T: np.ndarray, MC: np.ndarray, has: np.ndarray,
                  a: np.ndarray) -> np.ndarray:
    """Winding axis over the last n_check full turns, closed through the crossing points (a
    partial turn in the rough sum tilts it by O(1/turns)); the rough axis ``a`` where undefined."""
    n = mm.shape[1]
    t0w, t1w = T[:, 0], T[:, -1]
    inw = (times[None, :] >= t0w[:, None]) & (times[None, :] <= t1w[:, None])
    pair = inw[:, :-1] & inw[:, 1:]
    area2 = np.where(pair[..., None], cross(mm[:, :-1], mm[:, 1:]), 0.0).sum(1)
    has_in = inw.any(1)
    k_first = np.argmax(inw, axis=1)
    k_last = n - 1 - np.argmax(inw[:, ::-1], axis=1)
    rows = np.arange(len(mm))
    mc0 = np.nan_to_num(MC[:, 0])
    mc1 = np.nan_to_num(MC[:, -1])
    area2 = area2 + cross(mc0, mm[rows, k_first]) + cross(mm[rows, k_last], mc1)
    n2 = np.linalg.norm(area2, axis=1)
    good2 = has & has_in & (n2 > 0)
    return np.where(good2[:, None], area2 / np.where(n2 > 0, n2, 1.0)[:, None], a)


def _store_cycle_properties(out: dict[str, np.ndarray], sel: np.ndarray, times: np.ndarray, mm: np.ndarray,
                            T: np.ndarray, a: np.ndarray, period: np.ndarray, w_in: np.ndarray,
                            w_diss: np.ndarray) -> None:
    """Properties over the last full period (between the last two crossings ``T``) of the
    cycles ``sel``, written into ``out``: polar angles about the axis ``a``, centre, period and
    work per period."""
    t_a, t_b = T[:, -2], T[:, -1]
    inper = (times[None, :] >= t_a[:, None]) & (times[None, :] <= t_b[:, None])
    cnt = np.maximum(inper.sum(1), 1)
    c = np.where(inper[..., None], mm, 0.0).sum(1) / cnt[:, None]
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-300)
    pol = angle_between(mm, a[:, None, :])
    pmin = np.where(inper, pol, np.inf).min(1)
    pmax = np.where(inper, pol, -np.inf).max(1)
    amp = 0.5 * (pmax - pmin)
    cone = np.where(inper, pol, 0.0).sum(1) / cnt
    out["period"][sel] = period[sel]
    out["amplitude"][sel] = amp[sel]
    out["cone_angle"][sel] = cone[sel]
    out["cycle_axis"][sel] = a[sel]
    out["cycle_center"][sel] = c[sel]
    out["cycle_polar_min"][sel] = pmin[sel]
    out["cycle_polar_max"][sel] = pmax[sel]
    out["work_input_per_period"][sel] = w_in[sel]
    out["dissipation_per_period"][sel] = w_diss[sel]


def _limit_cycles(out: dict[str, np.ndarray], times: np.ndarray, m: np.ndarray, mm: np.ndarray,
                  work: np.ndarray | None, finite: np.ndarray, fixed: np.ndarray, o: ClassifyOptions,
                  energy_balance: bool) -> np.ndarray:
    """Which trajectories are limit cycles (criteria in the module docstring); their cycle
    properties and every trajectory's ``n_turns`` are written into ``out``."""
    N = len(m)
    wind = _winding(mm, finite)
    out["n_turns"] = np.where(wind.defined, wind.turns, 0.0)
    tr, t_c, m_c, W_c = _section_crossings(times, m, work, wind)
    if not len(tr):
        return np.zeros(N, dtype=bool)
    T, MC, WC, has = _last_crossings(N, o.n_check + 1, tr, t_c, m_c, W_c)
    periods = np.diff(T, axis=1)
    with np.errstate(invalid="ignore"):
        mean_p = periods.mean(axis=1)
        spread = (periods.max(axis=1) - periods.min(axis=1)) / mean_p
        ret = np.max(angle_between(MC[:, 1:], MC[:, :-1]), axis=1)
        dW = WC[:, -1] - WC[:, -2]
        w_in, w_diss = dW[:, 0], dW[:, 1]
        scale = np.maximum(np.abs(w_in), np.abs(w_diss))
        balanced = (np.abs(w_in - w_diss) <= o.balance_rtol * scale) | (scale <= o.balance_atol)
    if not energy_balance or work is None:
        balanced = np.ones(N, dtype=bool)
    cycle = has & ~fixed & (spread < o.period_rtol) & (ret < o.return_tol) & balanced & finite
    a = _refined_axis(times, mm, T, MC, has, wind.axis)
    _store_cycle_properties(out, cycle, times, mm, T, a, periods[:, -1], w_in, w_diss)
    return cycle


def _nearest_minimum(m_end: np.ndarray, minima: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Index of the minimum nearest to each end state and whether it lies within ``tol`` (rad).
    ``minima``: (k, 3) or (N, k, 3)."""
    N = len(m_end)
    mins = np.asarray(minima, float)
    mins = mins / np.linalg.norm(mins, axis=-1, keepdims=True)
    mins = np.broadcast_to(mins, (N,) + mins.shape[-2:]) if mins.ndim == 2 else mins
    ang = angle_between(m_end[:, None, :], mins)
    best = np.argmin(np.where(np.isfinite(ang), ang, np.inf), axis=1)
    return best, np.take_along_axis(ang, best[:, None], 1)[:, 0] < tol


def classify(times: np.ndarray, m: np.ndarray, work: np.ndarray | None, status: np.ndarray,
             minima: np.ndarray | None = None, options: ClassifyOptions = ClassifyOptions(),
             energy_balance: bool = True) -> dict[str, np.ndarray]:
    """Classify N trajectories of the LLG equation (eqs. 2.15, 2.26) from tail samples ``m``
    (N, n, 3, unit vectors) at uniform ``times`` (n,), ``work`` (N, n, 2) = (W_in, W_diss)
    cumulative (energy density, eqs. 2.11, 2.25; or None), integrator ``status`` (N,).
    ``minima``: (k, 3) or per trajectory (N, k, 3) unit vectors.  Returns a dict of arrays
    (classes and cycle properties as in the module docstring; angles in rad, periods in the
    unit of ``times``)."""
    o = options
    N, n = m.shape[:2]
    if n < 8:
        raise ValueError("need at least 8 tail samples")
    m_end = m[:, -1]
    out = _empty_result(N)
    finite = np.all(np.isfinite(m), axis=(1, 2))
    # fixed points: the largest angle from the end state over the settle window
    k0 = int(np.floor((1 - o.settle_fraction) * (n - 1)))
    disp = np.max(angle_between(m[:, k0:], m_end[:, None, :]), axis=1)
    out["settle_displacement"] = np.where(finite, disp, np.nan)
    fixed = finite & (disp < o.fixed_tol)
    mm = np.where(finite[:, None, None], m, 0.0)
    cycle = _limit_cycles(out, times, m, mm, work, finite, fixed, o, energy_balance)

    cls = out["final_class"]
    cls[fixed] = FIXED_POINT
    cls[cycle] = LIMIT_CYCLE
    stopped = (status & STATUS_STOPPED) != 0
    cls[stopped] = SINGULAR_POINT
    cls[(status != 0) & ~stopped] = INTEGRATION_FAILED
    if minima is not None:
        best, close = _nearest_minimum(m_end, minima, o.minimum_tol)
        sel = (cls == FIXED_POINT) & close
        out["minimum_index"][sel] = best[sel]
    return out
