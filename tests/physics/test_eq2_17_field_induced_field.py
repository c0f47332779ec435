"""The electric-field-induced field H^E = e E . int [dk] (Omega_km f0 - tau (de/dk)(de/dm) df0/de)
(eq. 2.17) for the TI surface, where only the Fermi sea counts and it reduces to
H^E = -(eE |alpha| / (4 pi m a)) sgn(m_z) x (eq. 2.36), converging in the cutoff.
"""

import numpy as np

from physics_helpers import TI_MAP_J as J, away_from_equator, ti_map


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
