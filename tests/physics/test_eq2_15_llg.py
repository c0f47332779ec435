"""The LLG equation m_dot = -gamma m x (H - eta . m_dot) (eq. 2.15) in vector form on the sphere: the
closed-form damped precession in a uniform field, |m| = 1 to round-off, tensor and m-dependent
gamma and eta with the energy balance, the classification of final states (fixed point, limit
cycle, unresolved) and large batches.
"""

import numpy as np
import pytest

from magcore.llg import (
    FIXED_POINT,
    LIMIT_CYCLE,
    LLG,
    UNRESOLVED,
    FaradayField,
    UniaxialAnisotropy,
    Zeeman,
    classify,
    edge_model,
    from_angles,
    integrate_llg,
)

from physics_helpers import TIGHT


def precession_exact(theta0, phi0, t, alpha, gamma, H):
    """Gilbert LLG in a uniform field H z: phi increases (positive rotation about H for
    gamma > 0, m_dot = gamma H x m); gamma' = gamma / (1 + alpha^2)."""
    gp = gamma / (1 + alpha**2)
    th = 2 * np.arctan(np.tan(theta0 / 2) * np.exp(-alpha * gp * H * t))
    ph = phi0 + gp * H * t
    return np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)


def test_damped_precession_in_uniform_field():
    # per-trajectory fields and damping; theta0 includes starts next to both poles
    theta0 = np.array([1e-3, 0.4, 1.2, 2.0, np.pi - 1e-3])
    phi0 = np.array([0.0, 1.0, 2.5, 4.0, 5.5])
    H = np.array([1.0, 0.5, 2.0, 1.5, 0.8])
    gamma, alpha_G = 1.7, np.array([0.1, 0.05, 0.2, 0.1, 0.3])
    llg = LLG([Zeeman(np.stack([0 * H, 0 * H, H], -1))], gamma=gamma, damping=alpha_G / gamma)
    times = np.linspace(0, 12.0, 61)
    res = integrate_llg(llg, from_angles(theta0, phi0), times[-1], record=[(times, None)], **TIGHT)
    exact = precession_exact(theta0[:, None], phi0[:, None], times[None, :], alpha_G[:, None], gamma, H[:, None])
    assert np.all(res.status == 0)
    np.testing.assert_allclose(res.recordings[0].m, exact, atol=2e-8)
    # a wrong sign convention or a missing 1/(1 + alpha^2) would fail
    wrong = precession_exact(theta0[:, None], phi0[:, None], times[None, :], alpha_G[:, None],
                             gamma * (1 + alpha_G[:, None]**2), H[:, None])
    assert np.max(np.abs(res.recordings[0].m - wrong)) > 1e-2
    # energy bookkeeping: E(0) - E(t) = dissipated energy (no non-conservative field)
    e0, e1 = llg.energy(from_angles(theta0, phi0)), llg.energy(res.m)
    np.testing.assert_allclose(e0 - e1, res.aux[:, 1], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.aux[:, 0], 0.0, atol=1e-14)


def _norm_run(n_steps):
    llg = LLG([Zeeman([0.3, -0.2, 1.0]), UniaxialAnisotropy(0.7, [1, 1, 0])], gamma=1.0, damping=0.0)
    m0 = from_angles(np.array([0.3, 1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    h = 0.02
    res = integrate_llg(llg, m0, n_steps * h, first_step=h, max_step=h, rtol=1e-3, atol=1e-3)
    assert np.all((res.n_steps == n_steps) | (res.n_steps == n_steps + 1))  # + a round-off sliver at t_end
    assert np.max(np.abs(np.linalg.norm(res.m, axis=1) - 1)) <= 4 * np.finfo(float).eps
    # undamped: the energy is conserved to the step accuracy (a drifting |m| would show up here too)
    assert np.max(np.abs(llg.energy(res.m) - llg.energy(m0))) < 1e-6


def test_norm_kept_to_roundoff_5k_steps():
    _norm_run(5_000)


@pytest.mark.slow
def test_norm_kept_to_roundoff_30k_steps():
    _norm_run(30_000)


def test_general_solve_matches_closed_form_and_tensor_damping_balances_energy():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(50, 3))
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    terms = [Zeeman([0.2, 0.5, -1.0]), UniaxialAnisotropy(1.1, [0, 1, 1]), FaradayField(0.3, [0, 1, 0], "2.41")]
    scalar = LLG(terms, gamma=1.3, damping=0.2)
    tensor = LLG(terms, gamma=1.3 * np.eye(3), damping=0.2 * np.eye(3))
    np.testing.assert_allclose(scalar.rate(m), tensor.rate(m), atol=1e-13)
    # anisotropic positive-definite eta(m): dE/dt = P_in - P_diss along the solution
    Q = rng.normal(size=(3, 3))
    eta0 = Q @ Q.T / 3 + 0.05 * np.eye(3)
    llg = LLG(terms, gamma=lambda mm: 1.0 + 0.3 * mm[:, 2] ** 2,
              damping=lambda mm: eta0 * (1 + 0.5 * mm[:, :1, None] ** 2))
    mdot, power = llg.rate(m, power=True)
    assert np.max(np.abs((mdot * m).sum(1))) < 1e-14
    h = 1e-6
    dE = (llg.energy(m + h * mdot) - llg.energy(m - h * mdot)) / (2 * h)  # E is defined off the sphere too
    np.testing.assert_allclose(dE, power[:, 0] - power[:, 1], atol=1e-7)
    assert np.all(power[:, 1] > 0)
    # a gyromagnetic tensor keeps m on the sphere
    G = np.diag([1.0, 2.0, 0.5])
    res = integrate_llg(LLG(terms[:2], gamma=G, damping=0.1), m[:5], 20.0, **TIGHT)
    assert np.all(res.status == 0)
    assert np.max(np.abs(np.linalg.norm(res.m, axis=1) - 1)) < 1e-15


# ---- classification ----------------------------------------------------------------------------------------


def test_classifier_on_an_analytic_limit_cycle():
    # Zeeman H z + Faraday field about z (eq. 2.41 form) + damping: theta_dot depends on theta
    # only, theta_dot = -gamma' (B / sin t + alpha H sin t) => a stable cycle at
    # sin^2 t* = -B / (alpha H) with phi_dot = gamma H, and work per turn 2 pi |B| (eq. 2.42)
    gamma, alpha, Hz, B = 1.0, 0.2, 1.0, -0.05
    t_star = np.arcsin(np.sqrt(-B / (alpha * Hz)))
    llg = LLG([Zeeman([0, 0, Hz]), FaradayField(B, [0, 0, 1], "2.41")], gamma=gamma, damping=alpha / gamma)
    theta0 = np.array([0.2, 1.2, np.pi / 2 - 0.05])
    T = 120.0
    tail = np.linspace(0.75 * T, T, 1024)
    res = integrate_llg(llg, from_angles(theta0, 0.3), T, record=[(tail, None)], **TIGHT)
    rec = res.recordings[0]
    out = classify(tail, rec.m, rec.aux, res.status)
    assert np.all(out["final_class"] == LIMIT_CYCLE), out["final_class"]
    np.testing.assert_allclose(out["period"], 2 * np.pi / (gamma * Hz), rtol=1e-5)
    np.testing.assert_allclose(out["cone_angle"], t_star, rtol=1e-5)
    np.testing.assert_allclose(out["amplitude"], 0.0, atol=1e-5)  # a circle: no nutation
    np.testing.assert_allclose(out["cycle_axis"], np.tile([0, 0, 1.0], (3, 1)), atol=1e-6)
    np.testing.assert_allclose(out["work_input_per_period"], 2 * np.pi * abs(B), rtol=1e-5)
    np.testing.assert_allclose(out["dissipation_per_period"], 2 * np.pi * abs(B), rtol=1e-5)
    # the same tail, too short to hold n_check + 1 returns: not a cycle
    short = slice(-int(1024 * 0.08), None)
    out2 = classify(tail[short], rec.m[:, short], rec.aux[:, short], res.status)
    assert np.all(out2["final_class"] == UNRESOLVED)


def test_classifier_fixed_point_and_slow_spiral():
    # weakly damped precession: returns are nearly periodic but energy is lost every turn
    llg = LLG([Zeeman([0, 0, 1.0])], gamma=1.0, damping=[1e-4, 0.5])
    T = 200.0
    tail = np.linspace(0.75 * T, T, 1024)
    res = integrate_llg(llg, from_angles([1.0, 1.0], 0.0), T, record=[(tail, None)], **TIGHT)
    rec = res.recordings[0]
    out = classify(tail, rec.m, rec.aux, res.status, minima=[[0, 0, -1.0], [0, 0, 1.0]])
    assert out["final_class"][0] == UNRESOLVED  # a decaying spiral is not a limit cycle
    assert out["final_class"][1] == FIXED_POINT and out["minimum_index"][1] == 1
    # without the energy-balance test the spiral would pass as a cycle: the test is what decides
    loose = classify(tail, rec.m, rec.aux, res.status, energy_balance=False)
    assert loose["final_class"][0] == LIMIT_CYCLE


# ---- batches -----------------------------------------------------------------------------------------------


def test_ten_thousand_trajectories_in_one_batch():
    rng = np.random.default_rng(0)
    m0 = rng.normal(size=(10_000, 3))
    llg = edge_model(alpha=rng.uniform(0.05, 0.2, 10_000), K_ti=-1.0, H=1.0, B=-0.1)
    res = integrate_llg(llg, m0, 5.0, rtol=1e-6, atol=1e-8, singular_radius=1e-3)
    assert np.all((res.status == 0) | (res.status == 8))
    assert np.max(np.abs(np.linalg.norm(res.m, axis=1) - 1)) < 1e-15
