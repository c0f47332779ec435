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

    def d_jacobian_m(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        jac = np.zeros(batch + (3, 4))
        for i in range(3):
            jac[..., i, i + 1] = self.params["J"]
        return jac

    def k_center(self, m):
        m = np.asarray(m, dtype=float)
        v, J = self.params["v"], self.params["J"]
        return np.stack([-J * m[..., 1] / v, J * m[..., 0] / v], axis=-1)
