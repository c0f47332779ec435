"""The gyrotropic Berry curvature of the Fermi sea, Omega_mm = int [dk] f0 Omega_mm (eq. 2.10), against
a closed form: rashba_fm at m = m_z z with mu in the exchange gap.  (The ti_surface and ti_edge
closed forms 2.31 and 2.39 are in test_eq2_30_ti_surface_sphere_maps.py and
test_eq2_38_2_40_ti_edge.py.)
"""

import numpy as np
import pytest

from magcore.engine import integrate_over_mesh
from magcore.kmesh import disc_mesh
from magcore.models import get_model
from magcore.models.rashba import HBAR2_OVER_2ME
from magcore.quantities import from_kernel_sums
from magcore.sphere import Electrons, sphere_partial_sums

from physics_helpers import RASHBA


@pytest.mark.parametrize("mz", [1.0, -0.5])
def test_rashba_fermi_sea_berry_curvature_closed_form(mz):
    """Omega_{mx my} of the Fermi sea for m = m_z z, mu in the exchange gap (T = 0).

    The lower band is filled for |k| < k_F, the upper band is empty (E_+ >= |J m_z| > mu), so
    Omega_{mx my} = int_{|k|<k_F} [dk] J^3 m_z / (2 |d|^3)
                  = J^2 sgn(J m_z) / (4 pi alpha_R^2) (1 - |J m_z| / |d(k_F)|),
    with |d(k_F)| = R from b R^2 - R = b Delta^2 + mu, b = hbar^2 / (2 m* alpha_R^2).
    """
    model = get_model("rashba_fm", **RASHBA)
    aR, J = RASHBA["alpha_R"], RASHBA["J"]
    delta = abs(J * mz)
    mu = 0.3 * delta
    b = HBAR2_OVER_2ME / (RASHBA["m_star"] * aR**2)
    R = (1 + np.sqrt(1 + 4 * b * (b * delta**2 + mu))) / (2 * b)
    kF = np.sqrt(R**2 - delta**2) / aR
    expected = J**2 * np.sign(J * mz) / (4 * np.pi * aR**2) * (1 - delta / R)
    # panel edge exactly on the Fermi circle (k_c g = k_F), so the occupation step is resolved
    mesh = disc_mesh(2 * kF, 20, 10, 0.5, 6)
    out = integrate_over_mesh(sphere_partial_sums, model, np.array([[0.0, 0.0, mz]]), mesh,
                              Electrons(chemical_potential=mu))
    om = from_kernel_sums(out, model)["berry_curvature_mm"][0]
    assert out["n_degenerate"][0] == 0
    np.testing.assert_allclose(om[0, 1], expected, rtol=1e-9)
    np.testing.assert_allclose(om, -om.T, atol=1e-15)
    np.testing.assert_allclose([om[0, 2], om[1, 2]], 0, atol=1e-12 * abs(expected))
    # and it is the Dirac-cone value J^2 / (4 pi alpha_R^2) only when the whole cone is filled
    assert abs(om[0, 1]) < J**2 / (4 * np.pi * aR**2)
