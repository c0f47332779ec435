"""Rashba ferromagnet: a 2D electron gas with Rashba spin-orbit coupling and exchange field.

The model of Manchon and Zhang for spin-orbit torques, described (without a numbered
Hamiltonian) in dissertation section 2.1.1 around eqs. 2.1-2.2, where the coupling is written
H_R = alpha s x p . z.  Units: hbar = 1, energies in eV, lengths in Angstrom.
"""

from __future__ import annotations

import numpy as np

from . import register
from .base import Parameter, TwoBandModel, broadcast_km

HBAR2_OVER_2ME = 3.8099821109685843
"""hbar^2 / (2 m_e) in eV Angstrom^2 (CODATA 2018)."""


@register
class RashbaFM(TwoBandModel):
    """Rashba 2D electron gas exchange-coupled to a ferromagnet (section 2.1.1; no numbered
    equation in the dissertation, the field-like torque it produces is eq. 2.1).

    H(k; m) = hbar^2 k^2 / (2 m*) + alpha_R (k_y s_x - k_x s_y) + J m . s,

    i.e. the d-vector d_0 = hbar^2 k^2 / (2 m*), d = (alpha_R k_y + J m_x, -alpha_R k_x + J m_y,
    J m_z); bands E = d_0 -/+ |d|.  Units: energies in eV, lengths in Angstrom (k in
    1/Angstrom), hbar = 1 so that velocities dH/dk are in eV Angstrom; the effective mass
    m_star is in units of the free-electron mass, with hbar^2 / (2 m_e) = 3.80998 eV Angstrom^2
    (:data:`HBAR2_OVER_2ME`).

    In-plane m shifts the Rashba (band-touching) point to k_R = (J m_y, -J m_x) / alpha_R,
    m_z opens the gap 2 |J m_z| there.  The continuum cutoff disc is centred on the origin
    (the default :meth:`k_center`): unlike the Dirac models, d_0 pins the Fermi sea to k = 0.
    """

    name = "rashba_fm"
    dim = 2
    domain = "continuum"
    energy_unit = "eV"
    length_unit = "Angstrom"
    equation = "section 2.1.1 (unnumbered; torque eq. 2.1)"
    parameters = (
        Parameter("m_star", 1.0, "m_e", "effective mass of the electrons (nonzero; negative for holes)"),
        Parameter("alpha_R", 1.0, "eV Angstrom", "Rashba spin-orbit coupling constant"),
        Parameter("J", 0.1, "eV", "exchange coupling between m and the electron spin"),
    )

    def __init__(self, **params: float):
        super().__init__(**params)
        if self.params["m_star"] == 0:
            raise ValueError("model 'rashba_fm': parameter 'm_star' must be nonzero")

    def d_vector(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        c = HBAR2_OVER_2ME / self.params["m_star"]
        aR, J = self.params["alpha_R"], self.params["J"]
        d = np.empty(batch + (4,))
        d[..., 0] = c * (k[..., 0] ** 2 + k[..., 1] ** 2)
        d[..., 1] = aR * k[..., 1] + J * m[..., 0]
        d[..., 2] = -aR * k[..., 0] + J * m[..., 1]
        d[..., 3] = J * m[..., 2]
        return d

    def d_jacobian_k(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        c = HBAR2_OVER_2ME / self.params["m_star"]
        aR = self.params["alpha_R"]
        jac = np.zeros(batch + (2, 4))
        jac[..., 0, 0] = 2 * c * k[..., 0]
        jac[..., 1, 0] = 2 * c * k[..., 1]
        jac[..., 0, 2] = -aR
        jac[..., 1, 1] = aR
        return jac

