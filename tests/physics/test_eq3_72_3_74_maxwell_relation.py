"""The Maxwell relation of the spin dipole (eqs. 3.72-3.74): d kappa_ijk / d mu = d P_ji / d m_k for
the tmd insulator at T = 0.
"""

import numpy as np

from magcore import wavepacket as wp
from magcore.electrons import Electrons
from magcore.kmesh import bz_mesh
from magcore.models import get_model

from physics_helpers import M_GENERIC


def _sums(model, mesh, m, mu, T=0.0):
    el = Electrons(chemical_potential=mu, temperature=T)
    kap, pol, bad = wp._kappa_integrand(model, mesh.points, m, el, hessian_step=1e-3)
    assert not bad.any()
    return np.einsum("q,qijk->ijk", mesh.weights, kap), np.einsum("q,qji->ji", mesh.weights, pol)


def test_maxwell_relation_tmd_insulator():
    """d kappa_ijk / d mu = d P_ji / d m_k (T = 0, mu in the gap above the two lowest bands),
    with P_ji = -int f alpha_ji the electron polarization per unit eE_i (charge -e)."""
    model = get_model("tmd")
    mesh = bz_mesh(model.reciprocal_vectors(), 24)
    mu, dmu, h = 0.7, 0.05, 1e-3
    kp, _ = _sums(model, mesh, M_GENERIC, mu + dmu)
    km, _ = _sums(model, mesh, M_GENERIC, mu - dmu)
    dk_dmu = (kp - km) / (2 * dmu)
    dP = np.zeros((2, 2, 3))
    for l in range(3):
        e = np.zeros(3)
        e[l] = h
        P = {s: _sums(model, mesh, M_GENERIC + s * e, mu)[1] for s in (-2, -1, 1, 2)}
        dP[..., l] = (4 * (P[1] - P[-1]) / (2 * h) - (P[2] - P[-2]) / (4 * h)) / 3
    dPT = np.einsum("jik->ijk", dP)
    assert np.abs(dPT).max() > 1e-4  # not trivially zero
    np.testing.assert_allclose(dk_dmu, dPT, rtol=1e-6, atol=1e-7 * np.abs(dPT).max())
    # the converged value: meshes 36 and 48 agree to 1e-3 (exponential convergence; 24 is off by 2%)
    conv = []
    for n in (36, 48):
        fine = bz_mesh(model.reciprocal_vectors(), n)
        conv.append((_sums(model, fine, M_GENERIC, mu + dmu)[0] - _sums(model, fine, M_GENERIC, mu - dmu)[0]) / (2 * dmu))
    np.testing.assert_allclose(conv[0], conv[1], rtol=0, atol=1e-3 * np.abs(conv[1]).max())
    assert np.abs(dk_dmu - conv[1]).max() > 1e-3 * np.abs(conv[1]).max()  # the coarse mesh is not converged
