"""The 2D-TI edge model (eq. 2.38): its gap closes only at m parallel to +/-y, and its sphere maps give
Omega_theta_phi = alpha sin(theta_y) / (2 pi a) (eq. 2.39) and gamma = gamma_f / (1 + alpha/pi)
(eq. 2.40), converging in the cutoff as the finite-cutoff closed form says.
"""

import warnings

import numpy as np

from magcore.bands import minimum_direct_gap
from magcore.kmesh import segment_mesh
from magcore.models import get_model
from magcore.sphere import Electrons, GapClosingWarning, sphere_map, unit_vectors

V_EDGE, J_EDGE = 0.8, 1.2  # alpha = J |m| a / (hbar v) = 1.5 at |m| = 1
ALPHA_EDGE = J_EDGE / V_EDGE
THETA_E = np.linspace(0, np.pi, 13)
PHI_E = 2 * np.pi * np.arange(8) / 8  # contains phi = pi/2, 3pi/2: m = +/-y at theta = pi/2


def edge_map(kc, magnitude=1.0, panels=24, order=10):
    model = get_model("ti_edge", v=V_EDGE, J=J_EDGE)
    mesh = segment_mesh(kc, panels, order, 0.5)
    m = magnitude * unit_vectors(THETA_E, PHI_E).reshape(-1, 3)
    gap, kmin = minimum_direct_gap(model, m, mesh.points, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        ds = sphere_map(model, THETA_E, PHI_E, mesh, Electrons(), magnitude=magnitude, gamma_f=2.0 * magnitude,
                        min_gap=gap.reshape(len(THETA_E), len(PHI_E)))
    return model, ds, gap, kmin, m


def y_polar_sin(mhat):
    return np.hypot(mhat[..., 0], mhat[..., 2])  # sin of the polar angle from the y axis


def test_ti_edge_gap_closes_only_along_y_and_the_segment_is_centred():
    model, ds, gap, kmin, m = edge_map(50.0, panels=12, order=4)
    np.testing.assert_allclose(gap, 2 * J_EDGE * y_polar_sin(m), atol=1e-9)
    np.testing.assert_allclose(kmin, model.k_center(m), atol=1e-6)
    np.testing.assert_allclose(model.k_center(m)[:, 0], -J_EDGE * m[:, 1] / V_EDGE)
    closed = y_polar_sin(unit_vectors(THETA_E, PHI_E)) < 1e-9
    assert closed.sum() == 2  # m = +y and m = -y
    assert np.all(np.isnan(ds.berry_curvature_theta_phi.values[closed]))
    assert np.all(np.isfinite(ds.berry_curvature_theta_phi.values[~closed]))


def edge_errors(kc, magnitude=1.0):
    _, ds, _, _, _ = edge_map(kc, magnitude)
    mhat = unit_vectors(THETA_E, PHI_E)
    s_y = y_polar_sin(mhat)
    ok = s_y > 0.2  # away from the gap closings at m parallel to +/-y
    om_vec = ds.berry_curvature_m.values
    alpha = ALPHA_EDGE * magnitude
    # eq. 2.39: Omega_{theta phi} = alpha sin(theta_y) / (2 pi a), theta_y from the y axis;
    # equivalently Omega . m_hat = J / (2 pi v |m|) and Omega lies in the x-z plane
    radial = np.einsum("...i,...i->...", om_vec, mhat)
    om_tp_y = magnitude**2 * s_y * radial
    e_tp = np.max(np.abs(om_tp_y / (alpha * s_y / (2 * np.pi)) - 1)[ok])
    expected_vec = J_EDGE / (2 * np.pi * V_EDGE * magnitude) * mhat * np.array([1, 0, 1]) / s_y[..., None] ** 2
    e_vec = np.max(np.abs(om_vec - expected_vec)[ok]) / np.max(np.abs(expected_vec[ok]))
    # eq. 2.40 with gamma_f = 2 |m| a / hbar
    gam = ds.gyromagnetic_ratio.values
    e_gam = np.max(np.abs(gam / (2 * magnitude / (1 + alpha / np.pi)) - 1)[ok])
    # the finite-cutoff closed form: int_{-k_c}^{k_c} dq/(2 pi) of the curvature gives
    # Omega . m_hat = J / (2 pi v |m|) * v k_c / sqrt(v^2 k_c^2 + J^2 |m|^2 sin^2 theta_y)
    D = J_EDGE * magnitude * s_y
    finite = J_EDGE / (2 * np.pi * V_EDGE * magnitude) * V_EDGE * kc / np.sqrt((V_EDGE * kc) ** 2 + D**2)
    e_fin = np.max(np.abs(radial / finite - 1)[ok])
    assert np.all(np.isfinite(gam[ok]))
    return e_tp, e_vec, e_gam, e_fin


def test_ti_edge_berry_curvature_and_gyromagnetic_ratio_converge_in_cutoff():
    cutoffs = [10.0, 20.0, 40.0, 80.0]
    errs = np.array([edge_errors(kc) for kc in cutoffs])
    e_tp, e_vec, e_gam, e_fin = errs.T
    # the quadrature reproduces the exact finite-cutoff integral at every cutoff ...
    assert np.all(e_fin < 1e-9), e_fin
    # ... whose deviation from eqs. 2.39/2.40 is D^2 / (2 v^2 k_c^2): it falls 4x per doubling
    for e in (e_tp, e_vec, e_gam):
        assert np.all(np.diff(e) < 0), errs
        ratios = e[:-1] / e[1:]
        assert np.all((ratios > 3.6) & (ratios < 4.4)), (ratios, errs)
    assert e_tp[-1] < 2e-4 and e_gam[-1] < 1e-4, errs[-1]
    # leading tail at theta_y = pi/2 (D = J |m|): alpha^2 a^2 / (2 (k_c a)^2)
    np.testing.assert_allclose(e_tp, ALPHA_EDGE**2 / (2 * np.array(cutoffs) ** 2), rtol=0.05)


def test_ti_edge_omega_radial_is_uniform_for_other_magnitudes():
    # Omega . m_hat = J / (2 pi v |m|): alpha = J |m| a / v scales with |m|
    e_tp, e_vec, e_gam, e_fin = edge_errors(400.0, magnitude=0.6)
    assert e_fin < 1e-9 and e_tp < 2e-5 and e_vec < 2e-5 and e_gam < 2e-5, (e_tp, e_vec, e_gam, e_fin)
