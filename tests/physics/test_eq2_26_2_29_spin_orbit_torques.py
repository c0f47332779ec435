"""Spin-orbit torques tau^H, tau^gamma, tau^eta (eqs. 2.26-2.29) against the LLG they come from.

Eq. 2.26 adds the torques to the *implicit* LLG 2.15, m_dot = -gamma m x (H - eta.m_dot) - gamma tau,
so differentiating the field-corrected LLG (H -> H + H^E, gamma -> gamma' = gamma/(1 + gamma/gamma_E),
eta -> eta + eta^E, section 2.2.2) at E = 0 gives the identity

    (1 - gamma [m]_x eta) d m_dot/dE = -gamma (tau^H + tau^gamma + tau^eta)          (per unit eE)

exactly when the m_dot inside tau^gamma, tau^eta is the exact field-free m_dot_0.  The printed
2.28-2.29 are its first-order-in-eta form (m_dot_0 ~ -gamma m x H).  Note that the left-hand
matrix matters: at the ti_surface point below tau^gamma and tau^eta cancel to O(tau), so
comparing d m_dot/dE with -gamma tau directly fails by O(1).
"""

import warnings

import numpy as np
import pytest

from magcore.kmesh import bz_mesh, disc_mesh
from magcore.models import get_model
from magcore.sphere import Electrons, field_free_precession, sphere_map


def _skew(m):
    return np.array([[0, -m[2], m[1]], [m[2], 0, -m[0]], [-m[1], m[0], 0]])


def _point(model, mesh, electrons, theta=0.9, phi=0.7):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sphere_map(model, np.array([theta]), np.array([phi]), mesh, electrons).isel(theta=0, phi=0)


def _llg_rate(ds, E):
    """Exact m_dot of eq. 2.15 with every electric-field correction of section 2.2.2 applied."""
    m, H, g = ds.magnetization.values, ds.effective_field.values, float(ds.gyromagnetic_ratio)
    oE, eE, hE = ds.berry_curvature_mm_E.values, ds.damping_E.values, ds.field_induced_field.values
    inv_gamma_E = sum(E[f] * m @ np.array([oE[f][1, 2], oE[f][2, 0], oE[f][0, 1]]) for f in range(len(E)))
    gp = g / (1 + g * inv_gamma_E)
    eta = ds.damping.values + np.einsum("fil,f->il", eE, E)
    M = _skew(m)
    return np.linalg.solve(np.eye(3) - gp * M @ eta, -gp * M @ (H + hE @ E))


def _check_identity(ds, rtol):
    m, g, eta = ds.magnetization.values, float(ds.gyromagnetic_ratio), ds.damping.values
    lhs_matrix = np.eye(3) - g * _skew(m) @ eta
    n_field = ds.sizes["field"]
    for f in range(n_field):
        h = 1e-5
        E = np.eye(n_field)[f] * h
        # the rate is analytic in E: a 4th-order central difference is exact to ~h^4
        E2 = 2 * E
        d = (8 * (_llg_rate(ds, E) - _llg_rate(ds, -E)) - (_llg_rate(ds, E2) - _llg_rate(ds, -E2))) / (12 * h)
        tau = sum(ds[name].values[:, f] for name in ("torque_H", "torque_gamma", "torque_eta"))
        scale = np.abs(g * ds.torque_gamma.values[:, f]).max()
        assert scale > 0  # the Fermi-surface torques are present: not vacuous
        np.testing.assert_allclose(lhs_matrix @ d, -g * tau, rtol=0, atol=rtol * scale)


def test_torques_are_the_field_derivative_of_the_llg_ti_surface_metal():
    model = get_model("ti_surface", J=1.0)
    ds = _point(model, disc_mesh(40.0, 10, 24, 0.4, 16),
                Electrons(chemical_potential=1.5, smearing=0.05, relaxation_time=0.02))
    _check_identity(ds, rtol=1e-6)


def test_torques_are_the_field_derivative_of_the_llg_tmd_metal():
    """Generic point of the six-band model: anisotropic eta, eta^E and Omega^E without symmetry."""
    model = get_model("tmd", material="WTe2", J=0.3)
    ds = _point(model, bz_mesh(model.reciprocal_vectors(), 18),
                Electrons(chemical_potential=2.3, temperature=0.08, relaxation_time=1.7), theta=0.8, phi=2.1)
    eta = ds.damping.values
    assert abs(eta[0, 1]) > 1e-3 * abs(eta).max()  # anisotropic, off-diagonal damping: a real test
    _check_identity(ds, rtol=1e-6)


@pytest.mark.parametrize("tau", [0.04, 0.02])
def test_printed_torques_are_the_low_order_in_eta_forms(tau):
    """Eq. 2.28 as printed uses m_dot_0 to first order in eta, eq. 2.29 to zeroth order
    (m_dot_0 = -gamma m x H).  The stored torques therefore differ from 2.28 at relative order
    (gamma eta)^2 and from 2.29 at relative order gamma eta; both are O(tau^2) beyond the
    O(tau) torques, i.e. beyond the order at which 2.26-2.29 are derived."""
    model = get_model("ti_surface", J=1.0)
    ds = _point(model, disc_mesh(40.0, 10, 24, 0.4, 16),
                Electrons(chemical_potential=1.5, smearing=0.05, relaxation_time=tau))
    m, H, g = ds.magnetization.values, ds.effective_field.values, float(ds.gyromagnetic_ratio)
    eta, oE, eE = ds.damping.values, ds.berry_curvature_mm_E.values, ds.damping_E.values
    mxH = np.cross(m, H)
    gamma_eta = g * np.abs(eta).max() * np.linalg.norm(m)
    for f in range(2):
        inv_gamma_E = m @ np.array([oE[f][1, 2], oE[f][2, 0], oE[f][0, 1]])
        printed_gamma = -g * inv_gamma_E * np.cross(m, H + g * eta @ mxH)  # 2.28
        printed_eta = g * np.cross(m, eE[f] @ mxH)  # 2.29
        rel_gamma = np.abs(ds.torque_gamma.values[:, f] - printed_gamma).max() / np.abs(printed_gamma).max()
        rel_eta = np.abs(ds.torque_eta.values[:, f] - printed_eta).max() / np.abs(printed_eta).max()
        assert 0.01 * gamma_eta**2 < rel_gamma < 3 * gamma_eta**2
        assert 0.1 * gamma_eta < rel_eta < 3 * gamma_eta


def test_field_free_precession_matches_the_llg_and_its_first_order_form():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(5, 3))
    H = rng.normal(size=(5, 3))
    A = rng.normal(size=(5, 3, 3))
    eta = 1e-4 * A @ np.swapaxes(A, -1, -2)
    g = rng.uniform(0.5, 2.0, size=5)
    mdot = field_free_precession(m, H, g, eta)
    residual = mdot + g[:, None] * np.cross(m, H - np.einsum("pij,pj->pi", eta, mdot))
    np.testing.assert_allclose(residual, 0, atol=1e-13)
    first = -g[:, None] * np.cross(m, H + g[:, None] * np.einsum("pij,pj->pi", eta, np.cross(m, H)))
    assert np.abs(mdot - first).max() < 1e-5 * np.abs(mdot).max()
    m[2, 0] = np.nan
    out = field_free_precession(m, H, g, eta)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()
