"""Parity under m -> -m (eqs. 2.23-2.24): the intrinsic H^E is odd and the extrinsic H^E even, so the
torque tau^H = m x H^E splits into a damping-like (intrinsic) and a field-like (extrinsic) part.
"""

import numpy as np

from physics_helpers import away_from_equator, metal, ti_map


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
