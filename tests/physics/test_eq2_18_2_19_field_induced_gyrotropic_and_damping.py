"""The Fermi-surface corrections Omega^E_mm (eq. 2.18) and eta^E_mm (eq. 2.19), derived directly from
the force balance of eqs. 2.7-2.8.
"""

import numpy as np

from magcore.models import get_model
from magcore.sphere import Electrons


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
    omegaE, etaE = out["berry_curvature_mm_E"][0], out["damping_E"][0]  # (field, j, l)
    scale = np.max(np.abs(C))
    assert scale > 1e-3  # a metal with a Fermi surface: not vacuous
    np.testing.assert_allclose(omegaE + etaE, C, atol=1e-10 * scale)
    np.testing.assert_allclose(etaE, etaE.swapaxes(-1, -2), atol=1e-14)
    np.testing.assert_allclose(omegaE, -omegaE.swapaxes(-1, -2), atol=1e-14)
