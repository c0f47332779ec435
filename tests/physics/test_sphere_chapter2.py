"""Chapter-2 coefficient maps: fields, damping, field-induced terms, torques (eqs. 2.11-2.37)."""

import warnings

import numpy as np

from magcore.kmesh import disc_mesh
from magcore.models import get_model
from magcore.plots import hemisphere_potential
from magcore.sphere import Electrons, GapClosingWarning, sphere_grid, sphere_map

J = 1.0


def ti_map(n_theta=19, n_phi=8, kc=400.0, electrons=Electrons(), order=8):
    model = get_model("ti_surface", J=J, v=1.0)
    theta, phi = sphere_grid(n_theta, n_phi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        return sphere_map(model, theta, phi, disc_mesh(kc, 16, order, 0.4, 8), electrons)


def away_from_equator(ds, margin=0.15):
    return (np.abs(ds.theta.values - np.pi / 2) > margin)[:, None] & np.ones(ds.sizes["phi"], bool)


def test_ti_surface_field_induced_field_eq_2_36():
    # H^E = -(eE |alpha| / (4 pi m a)) sgn(m_z) x_hat for E along x; only the Fermi sea counts
    ds = ti_map()
    sel = away_from_equator(ds)
    hE = ds.field_induced_field.sel(field="x").values  # (theta, phi, component)
    sgn = np.sign(np.cos(ds.theta.values))[:, None]
    expected = -abs(J) / (4 * np.pi) * sgn * np.ones_like(hE[..., 0])
    np.testing.assert_allclose(hE[..., 0][sel], expected[sel], rtol=4e-3)
    assert np.max(np.abs(hE[..., 1:][sel])) < 1e-10
    # with mu in the gap every Fermi-surface term vanishes identically
    for name in ("field_induced_field_extrinsic", "damping", "berry_curvature_mm_E", "damping_E",
                 "charge_pumping_extrinsic", "density_of_states"):
        assert np.all(ds[name].values[sel] == 0), name


def test_ti_surface_field_induced_field_converges_with_cutoff():
    errs = []
    for kc in (50.0, 100.0, 200.0):
        ds = ti_map(n_theta=7, n_phi=2, kc=kc)
        hE = ds.field_induced_field.sel(field="x", component="x").values[1]
        errs.append(np.max(np.abs(hE / (-abs(J) / (4 * np.pi)) - 1)))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 5e-3, errs


def test_hemisphere_free_energies_eq_2_37():
    # G_N/S = -J0 m_z^2 +/- (eE|alpha|/(4 pi m a)) m_x: the E part integrated from the stored H^E
    ds = ti_map(n_theta=37, n_phi=16)
    E = 2.0
    hE = E * ds.field_induced_field.sel(field="x").values
    GE = hemisphere_potential(hE, ds.theta.values, ds.phi.values)
    mx = ds.magnetization.sel(component="x").values
    c = E * abs(J) / (4 * np.pi)
    north = (ds.theta.values < np.pi / 2 - 0.1)[:, None] & np.ones(16, bool)
    south = (ds.theta.values > np.pi / 2 + 0.1)[:, None] & np.ones(16, bool)
    # potentials are defined up to a constant per hemisphere (fixed at the poles, m_x = 0 there)
    # (H^E itself carries the 1/k_c tail, ~0.25% at k_c = 400)
    np.testing.assert_allclose(GE[north], c * mx[north], atol=5e-3 * c)
    np.testing.assert_allclose(GE[south], -c * mx[south], atol=5e-3 * c)


def test_effective_field_hellmann_feynman_equals_minus_dG_dm_and_converges():
    # H = -dG/dm two ways: the Hellmann-Feynman band sum vs differentiating the stored G
    errs = []
    for n_theta in (13, 25, 49):
        ds = ti_map(n_theta=n_theta, n_phi=4, kc=100.0)
        H = ds.effective_field.values
        mhat = ds.magnetization.values
        H_t = H - (H * mhat).sum(-1, keepdims=True) * mhat
        sel = away_from_equator(ds, 0.3)
        errs.append(np.max(np.abs(H_t - ds.effective_field_from_G.values)[sel]) / np.max(np.abs(H_t)))
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[1] / errs[2] > 3.0  # second-order finite differences in theta
    assert errs[2] < 3e-3, errs


def metal(smearing=0.05, T=0.0, tau=2.0, mu=1.5):
    return Electrons(chemical_potential=mu, temperature=T, smearing=smearing, relaxation_time=tau)


def test_damping_is_symmetric_positive_semidefinite_in_a_metal():
    ds = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal())
    eta = ds.damping.values
    np.testing.assert_allclose(eta, eta.swapaxes(-1, -2), atol=1e-14)
    assert np.all(np.linalg.eigvalsh(eta) > -1e-12)
    assert np.max(eta) > 1e-3  # a real Fermi surface: the test is not vacuous
    # linear in tau
    ds2 = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal(tau=4.0))
    np.testing.assert_allclose(ds2.damping.values, 2 * eta, rtol=1e-12, atol=1e-16)


def test_parity_intrinsic_odd_extrinsic_even_in_a_metal():
    # eqs. 2.23-2.24: intrinsic H^E odd, extrinsic H^E even under m -> -m (ti_surface symmetry)
    ds = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal())
    sel = away_from_equator(ds, 0.2)
    int_odd = ds.field_induced_field_intrinsic_odd.values[sel]
    int_even = ds.field_induced_field_intrinsic_even.values[sel]
    ext_odd = ds.field_induced_field_extrinsic_odd.values[sel]
    ext_even = ds.field_induced_field_extrinsic_even.values[sel]
    assert np.max(np.abs(int_odd)) > 1e-3 and np.max(np.abs(ext_even)) > 1e-3
    assert np.max(np.abs(int_even)) < 1e-9 * np.max(np.abs(int_odd))
    assert np.max(np.abs(ext_odd)) < 1e-9 * np.max(np.abs(ext_even))
    # so tau^H = m x H^E: intrinsic part damping-like (even), extrinsic part field-like (odd)
    tH_even = ds.torque_H_damping_like.values[sel]
    tH_odd = ds.torque_H_field_like.values[sel]
    m = ds.magnetization.values[sel][..., :, None]
    np.testing.assert_allclose(tH_even, np.cross(m, int_odd, axis=-2), atol=1e-10)
    np.testing.assert_allclose(tH_odd, np.cross(m, ext_even, axis=-2), atol=1e-10)


def test_fermi_surface_terms_converge_with_smearing():
    # metal at T = 0: the Fermi-surface terms converge as the smearing goes to zero, with the
    # Sommerfeld O(s^2) error (each halving divides the change by ~4), once the mesh resolves
    # the smeared Fermi surface (a coarse mesh at small smearing does not: order 16 fails here)
    vals = []
    for s in (0.2, 0.1, 0.05, 0.025):
        ds = ti_map(n_theta=5, n_phi=2, kc=40.0, electrons=metal(smearing=s), order=64)
        vals.append(ds.damping.values[1, 0, 0, 0])
    diffs = np.abs(np.diff(vals))
    assert diffs[0] > diffs[1] > diffs[2], vals
    assert np.all(diffs[:-1] / diffs[1:] > 2.5), vals


def test_extrinsic_pumping_is_minus_extrinsic_field_tensor():
    # eq. 2.21 vs 2.17: j_e = +tau int v dE/dm f', H^E_e = -tau int v dE/dm f'
    ds = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal())
    pump = ds.charge_pumping_extrinsic.values  # (.., field i, component l)
    hE = ds.field_induced_field_extrinsic.values  # (.., component l, field i)
    np.testing.assert_allclose(pump, -hE.swapaxes(-1, -2), atol=1e-14)


def test_omegaE_and_etaE_are_the_E_mdot_bilinear_part_of_the_force_balance():
    """Eqs. 2.18-2.19 from 2.7-2.8 directly: F_l(E, m_dot) = int f (m_dot_j Omega_{m_j m_l}
    + k_dot_i Omega_{k_i m_l} + dE/dm_l) with f = f0 - tau f0' (k_dot.v + m_dot.dE/dm) and
    k_dot = -eE.  Its E_i m_dot_j coefficient must be (Omega^E + eta^E)_{jl} per unit E_i, with
    eta^E the symmetric and Omega^E the antisymmetric part in (j, l)."""
    from magcore.bands import eigensystem
    from magcore.geometry import berry_curvature, matrix_elements
    from magcore.kmesh import bz_mesh
    from magcore.occupation import fermi_dirac
    from magcore.sphere import fermi_derivative, sphere_partial_sums

    model = get_model("tmd", material="WTe2", J=0.3)
    mesh = bz_mesh(model.reciprocal_vectors(), 24)
    m = np.array([0.3, -0.5, np.sqrt(1 - 0.34)])
    el = Electrons(chemical_potential=2.3, temperature=0.08, relaxation_time=1.7)
    k = mesh.points
    E, U = eigensystem(model, k, m)
    V = matrix_elements(U, np.concatenate([model.dh_dk(k, m), model.dh_dm(k, m)], axis=-3))
    omega, _ = berry_curvature(E, V)  # (K, 5, 5, n): parameters (k_x, k_y, m_x, m_y, m_z)
    v = np.einsum("kpnn->kpn", V).real
    f0 = fermi_dirac(E, el.chemical_potential, el.temperature)
    fp = fermi_derivative(E, el.chemical_potential, el.temperature)

    def force(efield, mdot):
        kdot = -np.asarray(efield)  # e = 1
        f = f0 - el.relaxation_time * fp * (np.einsum("i,kin->kn", kdot, v[:, :2]) + np.einsum("j,kjn->kn", mdot, v[:, 2:]))
        integrand = (np.einsum("j,kjln->kln", mdot, omega[:, 2:, 2:]) + np.einsum("i,kiln->kln", kdot, omega[:, :2, 2:])
                     + v[:, 2:])
        return np.einsum("k,kn,kln->l", mesh.weights, f, integrand)

    C = np.zeros((2, 3, 3))  # (field i, m_dot j, l)
    h = 1.0  # F is exactly bilinear in (E, m_dot): any step is exact up to round-off
    for i in range(2):
        for j in range(3):
            e, d = np.eye(2)[i] * h, np.eye(3)[j] * h
            C[i, j] = (force(e, d) - force(e, -d) - force(-e, d) + force(-e, -d)) / (4 * h * h)
    out = sphere_partial_sums(model, m[None], k, mesh.weights, el)
    omegaE, etaE = out["omegaE"][0], out["etaE"][0]  # (field, j, l)
    scale = np.max(np.abs(C))
    assert scale > 1e-3  # a metal with a Fermi surface: not vacuous
    np.testing.assert_allclose(omegaE + etaE, C, atol=1e-10 * scale)
    np.testing.assert_allclose(etaE, etaE.swapaxes(-1, -2), atol=1e-14)
    np.testing.assert_allclose(omegaE, -omegaE.swapaxes(-1, -2), atol=1e-14)
