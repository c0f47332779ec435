"""Dirac models of topological-insulator / ferromagnet interfaces (dissertation sections 2.3, 2.4).

Units: hbar = 1, lengths in the lattice constant a, energies in eps0 = hbar v / a when v = 1.
"""

from __future__ import annotations

import numpy as np

from . import register
from .base import Parameter, TwoBandModel, broadcast_km


@register
class TISurface(TwoBandModel):
    """Dirac surface of a 3D TI exchange-coupled to a ferromagnet, eq. (2.30).

    H(k; m) = v (-k_y s_x + k_x s_y) + J m . s,   alpha = J |m| a / (hbar v).

    In-plane m shifts the Dirac point to k_D = (-J m_y, J m_x) / v; m_z opens the gap 2 |J m_z|.
    The continuum cutoff disc is centred on k_D (see :meth:`k_center`).
    """

    name = "ti_surface"
    dim = 2
    domain = "continuum"
    energy_unit = "eps0"
    length_unit = "a"
    equation = "2.30"
    parameters = (
        Parameter("v", 1.0, "eps0 a / hbar", "Fermi velocity of the surface Dirac electrons"),
        Parameter("J", 1.0, "eps0", "exchange coupling between m and the electron spin"),
    )

    def d_vector(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        v, J = self.params["v"], self.params["J"]
        d = np.empty(batch + (4,))
        d[..., 0] = 0.0
        d[..., 1] = -v * k[..., 1] + J * m[..., 0]
        d[..., 2] = v * k[..., 0] + J * m[..., 1]
        d[..., 3] = J * m[..., 2]
        return d

    def d_jacobian_k(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        v = self.params["v"]
        jac = np.zeros(batch + (2, 4))
        jac[..., 0, 2] = v
        jac[..., 1, 1] = -v
        return jac

    def k_center(self, m):
        m = np.asarray(m, dtype=float)
        v, J = self.params["v"], self.params["J"]
        return np.stack([-J * m[..., 1] / v, J * m[..., 0] / v], axis=-1)


@register
class TIEdge(TwoBandModel):
    """Helical edge of a 2D TI exchange-coupled to a 1D ferromagnet, eq. (2.38).

    H(k; m) = v k s_y + J m . s,   alpha = J |m| a / (hbar v)   (section 2.4).

    One-dimensional continuum model (k along the edge).  Units: hbar = 1, lengths in the
    lattice constant a, energies in eps0 = hbar v / a when v = 1; k in 1/a.

    m_y shifts the band-touching point to k_D = -J m_y / v; m_x and m_z open the gap
    2 J sqrt(m_x^2 + m_z^2), which closes only for m parallel to +/-y.  The natural polar axis
    is y (the dissertation's theta is measured from y), but the model, like every model, works
    in the global Cartesian frame.  The cutoff segment |k - k_D(m)| < k_c is centred on k_D
    (see :meth:`k_center`), the same regularisation as ``ti_surface``.  With the lower band
    filled, Omega . m_hat = J / (2 pi v |m|) for every direction away from +/-y, i.e.
    Omega_{theta phi} = alpha sin(theta) / (2 pi a) (eq. 2.39) and
    gamma = gamma_f / (1 + alpha / pi) for gamma_f = 2 |m| a / hbar (eq. 2.40).
    """

    name = "ti_edge"
    dim = 1
    domain = "continuum"
    energy_unit = "eps0"
    length_unit = "a"
    equation = "2.38"
    parameters = (
        Parameter("v", 1.0, "eps0 a / hbar", "velocity of the helical edge electrons"),
        Parameter("J", 1.0, "eps0", "exchange coupling between m and the electron spin"),
    )

    def d_vector(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        v, J = self.params["v"], self.params["J"]
        d = np.empty(batch + (4,))
        d[..., 0] = 0.0
        d[..., 1] = J * m[..., 0]
        d[..., 2] = v * k[..., 0] + J * m[..., 1]
        d[..., 3] = J * m[..., 2]
        return d

    def d_jacobian_k(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        jac = np.zeros(batch + (1, 4))
        jac[..., 0, 2] = self.params["v"]
        return jac

    def k_center(self, m):
        m = np.asarray(m, dtype=float)
        v, J = self.params["v"], self.params["J"]
        return (-J * m[..., 1] / v)[..., None]
