"""The second Chern form Omega^2 in (p_x, p_y, y, m_k) that enters the geometric spin density (eqs.
3.12, 3.55, 3.62, 3.81): zero for two-band models, nonzero for the six-band tmd model.
"""

import numpy as np
import pytest

from magcore import wavepacket as wp
from magcore.models import get_model
from magcore.texture import DomainWall

from physics_helpers import rng as _rng


@pytest.mark.parametrize("name,params", [("qwz", dict(u=-1.0, J=0.7)), ("rashba_fm", dict())])
def test_second_chern_form_vanishes_for_two_band_models(name, params):
    model = get_model(name, **params)
    k = _rng().uniform(-1, 1, (200, 2))
    m = _rng(3).normal(size=(200, 3))
    grad = _rng(3).normal(size=(200, 2, 3))
    g = wp.texture_geometry(model, k, m, grad, occupied=[0])
    scale = np.nanmax(np.abs(g["first_chern"])) * np.nanmax(np.abs(g["first_chern"])) + 1e-300
    assert np.nanmax(np.abs(g["second_chern"])) < 1e-12 * max(scale, 1.0)
    assert np.nanmax(np.abs(g["second_chern_nonabelian"])) < 1e-12 * max(scale, 1.0)


def test_second_chern_form_nonzero_for_tmd():
    model = get_model("tmd")
    k = _rng().uniform(-1.5, 1.5, (200, 2))
    wall = DomainWall.bloch(100.0)
    m, grad = wall(wall.along_normal(np.array(50.0)))
    g = wp.texture_geometry(model, k, m, grad, occupied=[0, 1])
    assert np.abs(g["second_chern"][..., :2]).max() > 1e-6
    assert np.abs(g["second_chern_nonabelian"]).max() > 1e-8
