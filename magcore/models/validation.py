"""Validation lattice models with known topological invariants (docs/physics.md, "Models").

Both models live on a hypercubic lattice with lattice constant a = 1 (lattice vectors = identity,
so k is measured in 1/a and the Brillouin zone is [0, 2 pi)^dim) and energies in the hopping unit t
(set to 1).  They are periodic in k with the reciprocal vectors 2 pi e_i (H(k + G) = H(k)), which
is what the link-variable methods of :mod:`magcore.topology` assume.

* ``qwz``: the Qi-Wu-Zhang two-band Chern insulator (2D),
      H = sin k_x s_x + sin k_y s_y + (u + cos k_x + cos k_y) s_z + J m . s .
  Lower-band Chern number (convention of docs/physics.md, C = (1/2 pi) int d^2k Omega_xy with
  Omega = -2 Im <d_x u | d_y u>):  C = +1 for -2 < u < 0,  C = -1 for 0 < u < 2,  C = 0 for
  |u| > 2  (at J = 0; fixed by tests/physics/test_eq2_6_occupied_k_space_berry_curvature.py).

* ``dirac4d``: the 4D lattice Dirac model of the 4D quantum Hall effect,
      H = sum_{i=1..4} sin k_i G_i + (m0 + sum_i cos k_i) G_5 + J (m . s) (x) I_2 ,
  with the Gamma matrices (spin (x) orbital, s = spin Pauli matrices, tau = orbital Pauli matrices)
      G_{1,2,3} = s_{x,y,z} (x) tau_x,   G_4 = I_2 (x) tau_y,   G_5 = I_2 (x) tau_z ,
  which satisfy {G_a, G_b} = 2 delta_ab and G_1 G_2 G_3 G_4 G_5 = -1.  The spin structure of the
  exchange term is s (x) I_2 (spin operators ``spin_operators()``).  At J = 0 every band is doubly
  degenerate (E = -/+ |d|); the lower two bands carry the second Chern number
  C2 = (1/32 pi^2) int d^4k eps^{ijkl} tr(F_ij F_kl)  (eps^{1234} = +1, k ordered k_1..k_4):
      m0 in (-4, -2): -1,  (-2, 0): +3,  (0, 2): -3,  (2, 4): +1,  |m0| > 4: 0
  for this choice of Gamma matrices (fixed by tests/physics/test_eq3_84_second_chern_number.py; C2 is
  odd under the chirality G_1...G_5 -> -G_1...G_5 and under an odd permutation of the k axes).

The magnetization enters only through the optional exchange term J m . s (default J = 0), so that
``dh_dm`` is well defined for every model in the registry; m is the full magnetization vector
(dimensionless), J in units of t.
"""

from __future__ import annotations

import numpy as np

from . import register
from .base import PAULI, Model, Parameter, TwoBandModel, broadcast_km

_S0, _SX, _SY, _SZ = PAULI

GAMMA = np.stack(
    [
        np.kron(_SX, _SX),
        np.kron(_SY, _SX),
        np.kron(_SZ, _SX),
        np.kron(_S0, _SY),
        np.kron(_S0, _SZ),
    ]
)
"""The five 4x4 Gamma matrices G_1..G_5 of ``dirac4d`` (spin (x) orbital), shape (5, 4, 4)."""

SPIN_4D = np.stack([np.kron(s, _S0) for s in (_SX, _SY, _SZ)])
"""Spin operators s_i (x) I_2 of ``dirac4d`` (Pauli units), shape (3, 4, 4)."""


@register
class QWZ(TwoBandModel):
    """Qi-Wu-Zhang Chern insulator on the square lattice (a = 1), energies in units of t.

    H(k; m) = sin k_x s_x + sin k_y s_y + (u + cos k_x + cos k_y) s_z + J m . s .

    d-vector d = (0, sin k_x + J m_x, sin k_y + J m_y, u + cos k_x + cos k_y + J m_z);
    dH/dk_x = cos k_x s_x - sin k_x s_z, dH/dk_y = cos k_y s_y - sin k_y s_z (units t a),
    dH/dm_i = J s_i (units t).  The gap closes at u = 0 (at X and Y) and u = -/+ 2 (at Gamma / M).
    Lower-band Chern number at J = 0: +1 for -2 < u < 0, -1 for 0 < u < 2, 0 for |u| > 2.
    """

    name = "qwz"
    dim = 2
    domain = "lattice"
    energy_unit = "t"
    length_unit = "a"
    equation = "validation: Qi-Wu-Zhang model (physics.md)"
    parameters = (
        Parameter("u", 1.0, "t", "staggered mass u in d_z = u + cos k_x + cos k_y"),
        Parameter("J", 0.0, "t", "exchange coupling J m . s (0: m does not enter H)"),
    )

    def d_vector(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        u, J = self.params["u"], self.params["J"]
        kx, ky = k[..., 0], k[..., 1]
        d = np.empty(batch + (4,))
        d[..., 0] = 0.0
        d[..., 1] = np.sin(kx) + J * m[..., 0]
        d[..., 2] = np.sin(ky) + J * m[..., 1]
        d[..., 3] = u + np.cos(kx) + np.cos(ky) + J * m[..., 2]
        return d

    def d_jacobian_k(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        kx, ky = k[..., 0], k[..., 1]
        jac = np.zeros(batch + (2, 4))
        jac[..., 0, 1] = np.cos(kx)
        jac[..., 0, 3] = -np.sin(kx)
        jac[..., 1, 2] = np.cos(ky)
        jac[..., 1, 3] = -np.sin(ky)
        return jac

    def lattice_vectors(self):
        return np.eye(2)

    def high_symmetry_path(self):
        return [
            ("Gamma", np.array([0.0, 0.0])),
            ("X", np.array([0.5, 0.0])),
            ("M", np.array([0.5, 0.5])),
            ("Gamma", np.array([0.0, 0.0])),
        ]


@register
class Dirac4D(Model):
    """4D lattice Dirac model (a = 1), energies in units of t; four bands, lower two occupied.

    H(k; m) = sum_{i=1..4} sin k_i G_i + (m0 + sum_i cos k_i) G_5 + J (m . s) (x) I_2 ,

    with ``GAMMA`` = (s_x tau_x, s_y tau_x, s_z tau_x, tau_y, tau_z) (spin (x) orbital) and spin
    operators s (x) I_2.  dH/dk_i = cos k_i G_i - sin k_i G_5 (units t a); dH/dm_i = J s_i (x) I_2
    (units t).  At J = 0 the spectrum is E = -/+ |d| (each doubly degenerate) with
    d = (sin k_1, ..., sin k_4, m0 + sum cos k_i); the gap closes at m0 = 0, -/+2, -/+4.
    Second Chern number of the lower two bands at J = 0: -1, +3, -3, +1 for m0 in (-4,-2),
    (-2,0), (0,2), (2,4) and 0 for |m0| > 4 (C2 of docs/physics.md conventions, eps^{1234} = +1).
    """

    name = "dirac4d"
    n_bands = 4
    dim = 4
    domain = "lattice"
    energy_unit = "t"
    length_unit = "a"
    equation = "validation: 4D lattice Dirac model (physics.md)"
    parameters = (
        Parameter("m0", -3.0, "t", "mass m0 in the G_5 coefficient m0 + sum_i cos k_i"),
        Parameter("J", 0.0, "t", "exchange coupling J (m . s) (x) I_2 (0: m does not enter H)"),
    )

    def d_vector(self, k, m):
        """Coefficients (..., 5) of G_1..G_5 (the exchange term is not included)."""
        k, m, batch = broadcast_km(k, m, self.dim)
        d = np.empty(batch + (5,))
        d[..., :4] = np.sin(k)
        d[..., 4] = self.params["m0"] + np.cos(k).sum(axis=-1)
        return d

    def hamiltonian(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        d = self.d_vector(k, m)
        H = np.einsum("...a,aij->...ij", d, GAMMA)
        J = self.params["J"]
        if J != 0.0:
            H = H + J * np.einsum("...a,aij->...ij", np.broadcast_to(m, batch + (3,)), SPIN_4D)
        return H

    def dh_dk(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        k = np.broadcast_to(k, batch + (self.dim,))
        c, s = np.cos(k), np.sin(k)
        return c[..., None, None] * GAMMA[:4] - s[..., None, None] * GAMMA[4]

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        return np.broadcast_to(self.params["J"] * SPIN_4D, batch + (3, 4, 4)).astype(complex)

    def spin_operators(self):
        return SPIN_4D.copy()

    def exchange_coupling(self):
        """J s_i (x) I_2 (the only m dependence)."""
        return self.params["J"] * SPIN_4D.astype(complex)

    def lattice_vectors(self):
        return np.eye(4)

    def high_symmetry_path(self):
        e = np.eye(4) * 0.5
        return [
            ("Gamma", np.zeros(4)),
            ("X", e[0]),
            ("M", e[0] + e[1]),
            ("R", e[0] + e[1] + e[2]),
            ("H", e.sum(axis=0)),
            ("Gamma", np.zeros(4)),
        ]
