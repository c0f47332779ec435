"""The 3D-TI surface model (eq. 2.30): its sphere maps against eqs. 2.31 (Omega_theta_phi), 2.32
(gamma_s), 2.34 (total gamma) and 2.35 (G_s), converged in the cutoff, and its gap closing on the
equator (section 2.3)."""

import warnings

import numpy as np
import pytest

from magcore.bands import minimum_direct_gap
from magcore.kmesh import disc_mesh
from magcore.models import get_model
from magcore.sphere import FLAG_GAP_CLOSED, Electrons, GapClosingWarning, sphere_grid, sphere_map, unit_vectors

J, V = 1.0, 1.0  # alpha = J |m| a / (hbar v) = 1, as in Fig. 2.3
THETA, PHI = sphere_grid(19, 3)
AWAY = (np.abs(THETA - np.pi / 2) > 0.15) & (np.sin(THETA) > 1e-9)  # away from equator and poles


def omega_2_31(theta, alpha=J / V):
    return alpha**2 * np.abs(np.sin(2 * theta)) / (8 * np.pi) * np.sign(alpha)


def gamma_2_32(theta, alpha=J / V):
    return 4 * np.pi / (alpha**2 * np.abs(np.cos(theta))) * np.sign(alpha)


def g_2_35(theta, kc, alpha=J / V):
    J0 = kc * alpha**2 / (4 * np.pi)  # eps0 k_c alpha^2 / (4 pi m^2 a), m = a = eps0 = 1
    return -J0 * np.cos(theta) ** 2


def run(kc, order=8, panels=16, n_angle=4, **kw):
    model = get_model("ti_surface", J=J, v=V)
    mesh = disc_mesh(kc, panels, order, 0.4, n_angle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        return sphere_map(model, THETA, PHI, mesh, Electrons(), gamma_f=2.0, **kw)


def errors(ds, kc):
    om = ds.berry_curvature_theta_phi.values
    gam = ds.gyromagnetic_ratio_s.values
    G = ds.free_energy.values
    G = G - G[len(THETA) // 2]  # eq. 2.35 drops the m_z-independent constant
    sel = AWAY[:, None] & np.ones(len(PHI), bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # poles/equator are masked out by sel
        e_om = np.max(np.abs(om / omega_2_31(THETA)[:, None] - 1)[sel])
        e_gam = np.max(np.abs(gam / gamma_2_32(THETA)[:, None] - 1)[sel])
    sel_g = sel & (np.abs(np.cos(THETA)) > 0.1)[:, None]
    e_G = np.max(np.abs(G / g_2_35(THETA, kc)[:, None] - 1)[sel_g])
    return e_om, e_gam, e_G


def test_matches_dissertation_within_one_percent():
    kc = 400.0
    e_om, e_gam, e_G = errors(run(kc), kc)
    assert e_om < 0.01 and e_gam < 0.01 and e_G < 0.01, (e_om, e_gam, e_G)


def test_error_shrinks_with_cutoff_like_one_over_kc():
    cutoffs = [25.0, 50.0, 100.0, 200.0, 400.0]
    errs = np.array([errors(run(kc), kc) for kc in cutoffs])
    # every quantity improves monotonically, and halves when k_c doubles (leading 1/k_c tail:
    # Omega_xy(k_c) = J^2/(4 pi v^2) sgn(J m_z) (1 - |J m_z| / sqrt(v^2 k_c^2 + J^2 m_z^2)))
    assert np.all(np.diff(errs, axis=0) < 0), errs
    ratios = errs[:-1] / errs[1:]
    assert np.all((ratios > 1.8) & (ratios < 2.2)), ratios


def exact_finite_cutoff(theta, kc):
    """Closed forms of the disc integrals at finite k_c (disc centred on the Dirac point)."""
    D = np.abs(J * np.cos(theta))
    omega = omega_2_31(theta) * (1 - D / np.sqrt(V**2 * kc**2 + D**2))
    G = -((V**2 * kc**2 + D**2) ** 1.5 - D**3) / (6 * np.pi * V**2)
    return omega, G


def test_mesh_refinement_converges_to_exact_disc_integral():
    kc = 100.0
    om_exact, G_exact = exact_finite_cutoff(THETA, kc)
    errs = []
    for order in (2, 4, 8):
        ds = run(kc, order=order)
        om = ds.berry_curvature_theta_phi.values[:, 0]
        G = ds.free_energy.values[:, 0]
        errs.append((np.max(np.abs(om - om_exact)[AWAY]), np.max(np.abs(G / G_exact - 1))))
    errs = np.array(errs)
    assert np.all(np.diff(errs, axis=0) < 0), errs
    assert errs[-1, 0] < 1e-9 * np.max(om_exact) and errs[-1, 1] < 1e-9, errs


def test_angular_rule_is_exact_for_the_dirac_cone():
    # around the Dirac point the integrands carry angular harmonics |l| <= 1 only, which an
    # n-point trapezoid rule integrates exactly for n >= 2: refining the angle changes nothing
    a = run(100.0, n_angle=2).berry_curvature_mm.values
    b = run(100.0, n_angle=7).berry_curvature_mm.values
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)  # ~1e-11 round-off at the equator


def test_vector_form_is_radial_only_after_k_integration():
    # Omega_mm = int f0 Omega_mm has only the z (m_x m_y) component for this model (2.31)
    ds = run(100.0)
    om = ds.berry_curvature_m.values[AWAY]
    assert np.max(np.abs(om[..., :2])) < 1e-12 * np.max(np.abs(om[..., 2]))


def test_gap_closes_on_equator_nan_flag_and_warning():
    model = get_model("ti_surface", J=J, v=V)
    mesh = disc_mesh(100.0, 16, 4, 0.4, 4)
    m = unit_vectors(THETA, PHI).reshape(-1, 3)
    gap, kmin = minimum_direct_gap(model, m, mesh.points, 0.0)
    gap = gap.reshape(len(THETA), len(PHI))
    np.testing.assert_allclose(gap, np.broadcast_to(2 * np.abs(J * np.cos(THETA))[:, None], gap.shape), atol=1e-9)
    # the refined minimum sits on the Dirac point k_D = (-J m_y, J m_x) / v
    np.testing.assert_allclose(kmin, model.k_center(m), atol=1e-6)
    with pytest.warns(GapClosingWarning, match="NaN"):
        ds = sphere_map(model, THETA, PHI, mesh, Electrons(), min_gap=gap, gap_tolerance=1e-6)
    eq = np.isclose(THETA, np.pi / 2)
    flag = ds.flag.values
    # off the equator only derived-quantity bits: stencils reaching the equator (rows next to it),
    # parity parts undefined with an odd n_phi, the curl at the poles
    assert np.all(flag[eq] & FLAG_GAP_CLOSED) and not np.any(flag[~eq] & ~np.uint8(32 | 64))
    for name in ("berry_curvature_theta_phi", "gyromagnetic_ratio_s", "gyromagnetic_ratio"):
        values = ds[name].values
        assert np.all(np.isnan(values[eq])), name
        assert np.all(np.isfinite(values[~eq])), name
    assert not np.any(np.isinf(ds.berry_curvature_mm.values))
    assert np.all(np.isfinite(ds.free_energy.values))  # no energy denominators in G


def test_mesh_point_on_degeneracy_is_counted_not_divided():
    # put a mesh point exactly on the Dirac point at the equator: the pair is degenerate there
    model = get_model("ti_surface", J=J, v=V)
    mesh = disc_mesh(10.0, 4, 2, 0.4, 2)
    from magcore.kmesh import KMesh

    mesh = KMesh(np.vstack([[0.0, 0.0], mesh.points]), np.concatenate([[1e-3], mesh.weights]))
    with pytest.warns(GapClosingWarning):
        ds = sphere_map(model, np.array([0.3, np.pi / 2]), np.array([0.0]), mesh, Electrons())
    assert ds.n_degenerate_k.values.tolist() == [[0], [1]]
    assert np.isnan(ds.berry_curvature_theta_phi.values[1, 0])
    assert np.isfinite(ds.berry_curvature_theta_phi.values[0, 0])


def test_total_gyromagnetic_ratio_eq_2_34():
    ds = run(400.0)
    gf = 2.0
    expected = gf / (1 + gf / gamma_2_32(THETA))
    got = ds.gyromagnetic_ratio.values[:, 0]
    np.testing.assert_allclose(got[AWAY], expected[AWAY], rtol=3e-3)
    # poles: gamma = gamma_f / (1 + gamma_f alpha^2 / (4 pi m a^2))
    np.testing.assert_allclose(got[[0, -1]], gf / (1 + gf / (4 * np.pi)), rtol=3e-3)
