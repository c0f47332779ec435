"""Magnetization textures m(r) with analytic gradients (dissertation chapter 3).

Every texture maps in-plane positions ``r`` with shape ``(..., 2)`` (length unit of the model,
Angstrom for ``tmd``) to

* ``m``    ``(..., 3)``: the full magnetization vector |m| m_hat in the global Cartesian frame
  of docs/physics.md;
* ``grad`` ``(..., 2, 3)``: ``grad[..., j, l] = d m_l / d r_j`` (1 / length unit).

Domain walls
------------
A wall has an easy axis ``a`` (unit 3-vector, default z) and an in-plane wall normal ``n``
(unit 2-vector, default y; the wall centre is the line r . n = ``center``).  With the signed
distance s = r . n - center and the polar angle theta(s) measured from ``a``:

    m(s) = |m| [cos theta(s) a + sin theta(s) (cos phi e1 + sin phi e2)],
    e1 = n3 x a / |n3 x a|,   e2 = a x e1,      (n3 = (n_x, n_y, 0))

so that ``phi = 0`` is a Bloch wall (m rotates in the plane perpendicular to n) and
``phi = pi/2`` a Neel wall (m rotates in the plane containing n).  For a = z, n = y this is the
dissertation's frame (section 3.5, eqs. 3.82-3.83, figs. 3.4 and 3.6): e1 = x, e2 = y, Bloch
m = (sin t, 0, cos t), Neel m = (0, sin t, cos t).  If n3 is parallel to ``a`` (easy axis along
the normal) e1 is taken as the normalised component of x (or y) perpendicular to ``a``.

Profiles theta(s), both going from 0 (m = +|m| a) at s -> -inf to pi (m = -|m| a) at s -> +inf:

* ``"atan"``  theta = atan(s / w0) + pi/2  (dissertation eq. 3.82; algebraic tails),
  d theta / ds = w0 / (s^2 + w0^2);
* ``"tanh"``  theta = 2 atan(exp(s / w0))  (the standard Walker profile, cos theta = -tanh(s/w0)),
  d theta / ds = sin(theta) / w0.

Skyrmion
--------
Centred at ``center`` in the plane with polarity +1 (core m = -|m| a_z, background +|m| z
when ``polarity = +1``), radius R and wall width w (Romming profile):

    theta(rho) = 2 atan( sinh(R / w) / sinh(rho / w) ),   Phi = vorticity * varphi + helicity,
    m = |m| p (sin theta cos Phi, sin theta sin Phi, cos theta)   with p = polarity on z only,

``helicity = 0`` Neel, ``pi/2`` Bloch.  theta(0) = pi exactly, so m is smooth at the core for
vorticity +/-1 (its gradient there is the analytic limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROFILES = ("atan", "tanh")


def wall_profile(s: np.ndarray, width: float, profile: str = "atan") -> tuple[np.ndarray, np.ndarray]:
    """theta(s) and d theta / ds of a wall (see the module docstring); ``s`` in length units."""
    s = np.asarray(s, dtype=float)
    if width <= 0:
        raise ValueError(f"wall width must be > 0, got {width}")
    if profile == "atan":
        return np.arctan(s / width) + 0.5 * np.pi, width / (s * s + width * width)
    if profile == "tanh":
        with np.errstate(over="ignore"):  # exp -> inf far on the +s side: theta -> pi exactly
            theta = 2.0 * np.arctan(np.exp(s / width))
        return theta, np.sin(theta) / width
    raise ValueError(f"unknown wall profile {profile!r}; allowed: {PROFILES}")


def _unit(v, name):
    v = np.asarray(v, dtype=float)
    n = np.linalg.norm(v)
    if n == 0:
        raise ValueError(f"{name} must be nonzero")
    return v / n


@dataclass(frozen=True)
class DomainWall:
    """A straight domain wall (frame and profiles in the module docstring).

    ``width`` w0 in length units; ``phi`` the azimuth of the in-wall rotation plane (0 Bloch,
    pi/2 Neel; the dissertation's w0 = 10 nm = 100 Angstrom); ``magnitude`` |m|.
    """

    width: float
    phi: float = 0.0
    profile: str = "atan"
    axis: tuple = (0.0, 0.0, 1.0)
    normal: tuple = (0.0, 1.0)
    magnitude: float = 1.0
    center: float = 0.0

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"unknown wall profile {self.profile!r}; allowed: {PROFILES}")
        if self.width <= 0 or self.magnitude <= 0:
            raise ValueError("width and magnitude must be > 0")

    @classmethod
    def bloch(cls, width: float, **kw) -> "DomainWall":
        return cls(width=width, phi=0.0, **kw)

    @classmethod
    def neel(cls, width: float, **kw) -> "DomainWall":
        return cls(width=width, phi=0.5 * np.pi, **kw)

    def frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, e1, e2, n): easy axis, the two in-wall directions and the in-plane normal (2,)."""
        a = _unit(self.axis, "axis")
        n = _unit(self.normal, "normal")
        n3 = np.array([n[0], n[1], 0.0])
        e1 = np.cross(n3, a)
        if np.linalg.norm(e1) < 1e-12:
            for trial in (np.array([1.0, 0, 0]), np.array([0, 1.0, 0])):
                e1 = trial - trial.dot(a) * a
                if np.linalg.norm(e1) > 1e-6:
                    break
        e1 = e1 / np.linalg.norm(e1)
        e2 = np.cross(a, e1)
        return a, e1, e2, n

    def theta(self, s):
        """Polar angle theta(s) from the easy axis at signed distances ``s`` from the centre."""
        return wall_profile(s, self.width, self.profile)[0]

    def along_normal(self, s: np.ndarray) -> np.ndarray:
        """Positions r = (center + s) n, shape ``s.shape + (2,)``."""
        _, _, _, n = self.frame()
        s = np.asarray(s, dtype=float)
        return (self.center + s)[..., None] * n

    def __call__(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """m (..., 3) and grad (..., 2, 3), grad[..., j, l] = d m_l / d r_j."""
        r = np.asarray(r, dtype=float)
        if r.shape[-1:] != (2,):
            raise ValueError(f"positions must have a trailing axis of length 2, got {r.shape}")
        a, e1, e2, n = self.frame()
        s = r @ n - self.center
        theta, dtheta = wall_profile(s, self.width, self.profile)
        rot = np.cos(self.phi) * e1 + np.sin(self.phi) * e2
        c, sn = np.cos(theta)[..., None], np.sin(theta)[..., None]
        m = self.magnitude * (c * a + sn * rot)
        dm_ds = self.magnitude * dtheta[..., None] * (-sn * a + c * rot)
        grad = n[:, None] * dm_ds[..., None, :]
        return m, grad


@dataclass(frozen=True)
class Skyrmion:
    """An isolated skyrmion in the xy plane (profile in the module docstring)."""

    radius: float
    width: float
    vorticity: int = 1
    helicity: float = 0.0
    polarity: int = 1
    magnitude: float = 1.0
    center: tuple = (0.0, 0.0)

    def __post_init__(self):
        if self.radius <= 0 or self.width <= 0 or self.magnitude <= 0:
            raise ValueError("radius, width and magnitude must be > 0")
        if self.polarity not in (1, -1):
            raise ValueError("polarity must be +1 or -1")

    def theta(self, rho):
        sR = np.sinh(self.radius / self.width)
        with np.errstate(over="ignore"):  # sinh -> inf far away: theta -> 0 exactly
            return 2.0 * np.arctan2(sR, np.sinh(np.asarray(rho, dtype=float) / self.width))

    def dtheta(self, rho):
        x = np.asarray(rho, dtype=float) / self.width
        sR = np.sinh(self.radius / self.width)
        e = np.exp(-x)  # overflow-free: cosh x / (sinh^2 x + sR^2) with numerator, denominator times e^{-2x}
        num = 0.5 * (1.0 + e * e) * e
        den = (0.5 * (1.0 - e * e)) ** 2 + (sR * e) ** 2
        return -2.0 * sR * num / (self.width * den)

    def __call__(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """m (..., 3) and grad (..., 2, 3), grad[..., j, l] = d m_l / d r_j."""
        r = np.asarray(r, dtype=float) - np.asarray(self.center, dtype=float)
        x, y = r[..., 0], r[..., 1]
        rho = np.hypot(x, y)
        core = rho == 0
        rho_s = np.where(core, 1.0, rho)
        varphi = np.arctan2(y, x)
        th, dth = self.theta(rho), self.dtheta(rho)
        Phi = self.vorticity * varphi + self.helicity
        st, ct, sP, cP = np.sin(th), np.cos(th), np.sin(Phi), np.cos(Phi)
        p, M = self.polarity, self.magnitude
        m = M * np.stack([st * cP, st * sP, p * ct], axis=-1)
        # d/d rho and d/d varphi, then chain rule with d rho/dr = r/rho, d varphi/dr = (-y, x)/rho^2
        dm_drho = M * np.stack([ct * cP, ct * sP, -p * st], axis=-1) * dth[..., None]
        dm_dphi = M * self.vorticity * np.stack([-st * sP, st * cP, np.zeros_like(st)], axis=-1)
        drho = np.stack([x / rho_s, y / rho_s], axis=-1)
        dvphi = np.stack([-y / rho_s**2, x / rho_s**2], axis=-1)
        grad = drho[..., :, None] * dm_drho[..., None, :] + dvphi[..., :, None] * dm_dphi[..., None, :]
        if np.any(core):
            # analytic limit at the core: m_perp = -theta'(0) rho (cos Phi, sin Phi) = -theta'(0) R(h) (x, v y)
            g0 = np.full((2, 3), np.nan)
            if abs(self.vorticity) == 1:
                d0 = -float(self.dtheta(0.0)) * M
                h = self.helicity
                Rh = np.array([[np.cos(h), -np.sin(h)], [np.sin(h), np.cos(h)]])
                g0 = np.zeros((2, 3))
                g0[0, :2] = d0 * Rh @ np.array([1.0, 0.0])
                g0[1, :2] = d0 * Rh @ np.array([0.0, float(self.vorticity)])
            grad = np.where(core[..., None, None], g0, grad)
        return m, grad
