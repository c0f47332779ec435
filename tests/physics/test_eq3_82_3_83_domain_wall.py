"""Domain walls m(r) (magcore.texture): the dissertation's wall theta(y) = atan(y / w0) + pi/2, Bloch
phi = 0 and Neel phi = pi/2 (eqs. 3.82-3.83), analytic gradients against finite differences, limits,
frames.
"""

import numpy as np
import pytest

from magcore.texture import DomainWall, wall_profile

from physics_helpers import fd_grad as _fd_grad

WALLS = [
    DomainWall.bloch(100.0),
    DomainWall.neel(100.0, profile="tanh"),
    DomainWall(width=37.0, phi=0.3, profile="atan", axis=(1.0, 1.0, 0.5), normal=(0.6, -0.8), magnitude=1.7, center=5.0),
    DomainWall(width=20.0, phi=1.1, profile="tanh", axis=(0.0, 1.0, 0.0), normal=(0.0, 1.0)),  # axis parallel to normal
]


@pytest.mark.parametrize("wall", WALLS)
def test_wall_gradient_matches_finite_differences(wall):
    rng = np.random.default_rng(1)
    r = rng.uniform(-300, 300, (40, 2))
    m, grad = wall(r)
    assert m.shape == (40, 3) and grad.shape == (40, 2, 3)
    np.testing.assert_allclose(np.linalg.norm(m, axis=-1), wall.magnitude, rtol=1e-13)
    fd = _fd_grad(wall, r, h=1e-2 * wall.width)
    np.testing.assert_allclose(grad, fd, atol=1e-9 * wall.magnitude / wall.width)
    # gradient only along the normal, and tangent to the sphere
    n = np.asarray(wall.normal) / np.linalg.norm(wall.normal)
    t = np.array([-n[1], n[0]])
    np.testing.assert_allclose(np.einsum("j,pjl->pl", t, grad), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.einsum("pl,pjl->pj", m, grad), 0.0, atol=1e-12)


@pytest.mark.parametrize("profile", ["atan", "tanh"])
def test_wall_profile_limits(profile):
    w0 = 100.0
    th, dth = wall_profile(np.array([-1e9, 0.0, 1e9]), w0, profile)
    np.testing.assert_allclose(th, [0.0, np.pi / 2, np.pi], atol=1e-6)
    assert np.all(dth > 0) or np.allclose(dth[[0, 2]], 0, atol=1e-12)
    # centre slope: atan 1/w0, tanh 1/w0 (sech 0 = 1)
    np.testing.assert_allclose(dth[1], 1 / w0)
    if profile == "atan":  # dissertation eq. 3.82
        s = np.array([-250.0, 40.0])
        np.testing.assert_allclose(wall_profile(s, w0, profile)[0], np.arctan(s / w0) + np.pi / 2)
    else:
        s = np.array([-250.0, 40.0])
        np.testing.assert_allclose(np.cos(wall_profile(s, w0, profile)[0]), -np.tanh(s / w0))


def test_dissertation_frame_bloch_and_neel():
    """Easy axis z, wall along y: Bloch m in the xz plane (phi = 0), Neel in the yz plane (3.82-3.83)."""
    y = np.linspace(-500, 500, 11)
    for wall, zero, rot in ((DomainWall.bloch(100.0), 1, 0), (DomainWall.neel(100.0), 0, 1)):
        m, grad = wall(wall.along_normal(y))
        np.testing.assert_allclose(m[:, zero], 0.0, atol=1e-15)
        th = np.arctan(y / 100.0) + np.pi / 2
        np.testing.assert_allclose(m[:, 2], np.cos(th), atol=1e-15)
        np.testing.assert_allclose(m[:, rot], np.sin(th), atol=1e-15)
        np.testing.assert_allclose(grad[:, 0], 0.0)  # no x dependence
        far, _ = wall(wall.along_normal(np.array([-1e10, 1e10])))
        np.testing.assert_allclose(far, [[0, 0, 1], [0, 0, -1]], atol=1e-6)
