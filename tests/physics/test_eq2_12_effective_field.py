"""The effective field H = -dG/dm (eq. 2.12): the Hellmann-Feynman band sum equals the derivative of
the stored free energy G, converging at second order in the grid.
"""

import numpy as np

from physics_helpers import away_from_equator, ti_map


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
