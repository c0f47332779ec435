"""Section 3.5, geometric spin density h_k = e E . int f0 (Omega_pm + Omega^2_{p[xp]m}) (eq. 3.81) of a
Bloch wall in WTe2 with the lowest two bands filled: the first-Chern-form part vanishes, and the
dominant component (y) is antisymmetric about the wall centre.
"""

import numpy as np
import pytest

from physics_helpers import wte2_bloch_wall_response


@pytest.fixture(scope="module")
def wte2_bloch():
    return wte2_bloch_wall_response()


def test_first_chern_part_vanishes(wte2_bloch):
    ds = wte2_bloch
    h1 = np.abs(ds.spin_density_first_chern.sel(field="x")).max()
    h2 = np.abs(ds.spin_density_second_chern.sel(field="x")).max()
    assert h1 < 1e-3 * h2
    for var in ("spin_density_first_chern", "spin_density_second_chern", "spin_density_spin_dipole",
                "dmi_tensor", "kappa"):
        assert {"long_name", "units", "equation"} <= set(ds[var].attrs)
    assert (ds.n_degenerate_k == 0).all()


def test_dominant_geometric_component_is_y_and_antisymmetric(wte2_bloch):
    h = wte2_bloch.spin_density_second_chern.sel(field="x").values  # (y, component)
    comp = np.abs(h).max(axis=0)
    assert comp.argmax() == 1 and comp[[0, 2]].max() < 1e-8 * comp[1]
    np.testing.assert_allclose(h[::-1, 1], -h[:, 1], rtol=1e-8, atol=1e-12)
    assert abs(h[2, 1]) < 1e-10 * comp[1]  # zero at the centre
