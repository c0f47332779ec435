"""Skyrmion textures m(r) (magcore.texture; not in the dissertation): analytic gradients against finite
differences, core and far field, helicity.
"""

import numpy as np
import pytest

from magcore.texture import Skyrmion

from physics_helpers import fd_grad as _fd_grad


@pytest.mark.parametrize("kw", [dict(), dict(helicity=np.pi / 2), dict(vorticity=-1, helicity=0.4, polarity=-1, magnitude=2.0)])
def test_skyrmion_gradient_and_limits(kw):
    sk = Skyrmion(radius=30.0, width=8.0, center=(3.0, -2.0), **kw)
    rng = np.random.default_rng(2)
    r = rng.uniform(-80, 80, (50, 2))
    m, grad = sk(r)
    np.testing.assert_allclose(np.linalg.norm(m, axis=-1), sk.magnitude, rtol=1e-13)
    np.testing.assert_allclose(grad, _fd_grad(sk, r, 1e-3), atol=1e-8 * sk.magnitude)
    # core and far field
    core, gcore = sk(np.array(sk.center))
    np.testing.assert_allclose(core, [0, 0, -sk.polarity * sk.magnitude], atol=1e-12)
    np.testing.assert_allclose(gcore, _fd_grad(sk, np.array(sk.center), 1e-3), atol=1e-7)
    far, _ = sk(np.array(sk.center) + np.array([1e4, 0.0]))
    np.testing.assert_allclose(far, [0, 0, sk.polarity * sk.magnitude], atol=1e-9)
    # helicity 0 (Neel): in-plane part radial at the wall radius
    if not kw:
        m30, _ = sk(np.array(sk.center) + np.array([30.0, 0.0]))
        assert m30[0] > 0.99 and abs(m30[1]) < 1e-12
