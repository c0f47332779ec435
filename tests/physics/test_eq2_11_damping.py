"""The damping eta_mm = -tau int [dk] (df0/de) (de/dm)(de/dm) (eq. 2.11): symmetric positive
semidefinite in a metal, linear in tau, and converging as the smearing goes to zero.
"""

import numpy as np

from physics_helpers import metal, ti_map


def test_damping_is_symmetric_positive_semidefinite_in_a_metal():
    ds = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal())
    eta = ds.damping.values
    np.testing.assert_allclose(eta, eta.swapaxes(-1, -2), atol=1e-14)
    assert np.all(np.linalg.eigvalsh(eta) > -1e-12)
    assert np.max(eta) > 1e-3  # a real Fermi surface: the test is not vacuous
    # linear in tau
    ds2 = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal(tau=4.0))
    np.testing.assert_allclose(ds2.damping.values, 2 * eta, rtol=1e-12, atol=1e-16)


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
