"""Six-band transition-metal dichalcogenide monolayer on a ferromagnet (section 3.5).

The three-band nearest-neighbour tight-binding model of Liu et al., PRB 88, 085433 (2013)
(the dissertation's ref. [80]) in the basis (d_z2, d_xy, d_x2-y2) of the metal atom, doubled
by spin with on-site spin-orbit coupling and the exchange coupling to the magnetization m:

    H(k; m) = I2 (x) H_NN(k) + (lambda / 2) s_z (x) L_z + J m . s (x) I3     (eqs. 3.78-3.80)

Units: hbar = 1, energies in eV, lengths in Angstrom (k in 1 / Angstrom).
"""

from __future__ import annotations

import numpy as np

from . import register
from .base import PAULI, Model, Parameter, broadcast_km

SQRT3 = np.sqrt(3.0)

#: GGA parameters of Liu et al. (2013), Table II: a in Angstrom, everything else in eV.
MATERIALS: dict[str, dict[str, float]] = {
    "MoS2": dict(a=3.190, e1=1.046, e2=2.104, t0=-0.184, t1=0.401, t2=0.507, t11=0.218, t12=0.338, t22=0.057, **{"lambda": 0.073}),
    "WS2": dict(a=3.191, e1=1.130, e2=2.275, t0=-0.206, t1=0.567, t2=0.536, t11=0.286, t12=0.384, t22=-0.061, **{"lambda": 0.211}),
    "MoSe2": dict(a=3.326, e1=0.919, e2=2.065, t0=-0.188, t1=0.317, t2=0.456, t11=0.211, t12=0.290, t22=0.130, **{"lambda": 0.091}),
    "WSe2": dict(a=3.325, e1=0.943, e2=2.179, t0=-0.207, t1=0.457, t2=0.486, t11=0.263, t12=0.329, t22=0.034, **{"lambda": 0.228}),
    "MoTe2": dict(a=3.557, e1=0.605, e2=1.972, t0=-0.169, t1=0.228, t2=0.390, t11=0.207, t12=0.239, t22=0.252, **{"lambda": 0.107}),
    "WTe2": dict(a=3.560, e1=0.606, e2=2.102, t0=-0.175, t1=0.342, t2=0.410, t11=0.233, t12=0.270, t22=0.190, **{"lambda": 0.237}),
}

#: Orbital angular momentum L_z in the basis (d_z2, d_xy, d_x2-y2) (Liu et al. eq. 11).
L_Z = np.array([[0, 0, 0], [0, 0, 2j], [0, -2j, 0]], dtype=complex)

_DEFAULT_MATERIAL = "WTe2"
_D = MATERIALS[_DEFAULT_MATERIAL]


def _canonical_material(material: str) -> str:
    if isinstance(material, str):
        for name in MATERIALS:
            if name.lower() == material.strip().lower():
                return name
    raise ValueError(f"model 'tmd': unknown material {material!r}; allowed: {', '.join(MATERIALS)}")


@register
class TMD(Model):
    """Six-band TMD monolayer exchange-coupled to a ferromagnet, eqs. (3.78)-(3.80).

    H(k; m) = I2 (x) H_NN(k) + (lambda/2) s_z (x) L_z + J m . s (x) I3,

    with the nearest-neighbour three-band H_NN of Liu et al., PRB 88, 085433 (2013), in the
    basis (d_z2, d_xy, d_x2-y2) and alpha = k_x a / 2, beta = sqrt(3) k_y a / 2:

        h0  = 2 t0 (cos 2alpha + 2 cos alpha cos beta) + e1
        h1  = -2 sqrt3 t2 sin alpha sin beta + 2i t1 (sin 2alpha + sin alpha cos beta)
        h2  = 2 t2 (cos 2alpha - cos alpha cos beta) + 2 sqrt3 i t1 cos alpha sin beta
        h11 = 2 t11 cos 2alpha + (t11 + 3 t22) cos alpha cos beta + e2
        h22 = 2 t22 cos 2alpha + (3 t11 + t22) cos alpha cos beta + e2
        h12 = sqrt3 (t22 - t11) sin alpha sin beta + 4i t12 sin alpha (cos alpha - cos beta)

    Spin is the outer tensor factor: the basis is up (x) (d_z2, d_xy, d_x2-y2), then
    down (x) (d_z2, d_xy, d_x2-y2).  Units: hbar = 1, energies in eV, lengths in Angstrom.

    ``material`` (MoS2, WS2, MoSe2, WSe2, MoTe2, WTe2; case-insensitive, default WTe2) picks
    the GGA parameter set of Liu et al.; any tight-binding parameter given explicitly
    overrides the material's value.  The parameter named ``lambda`` is a Python keyword: pass
    it as ``get_model("tmd", **{"lambda": 0.2})`` (or as ``lambda:`` in a YAML config).

    The triangular Bravais lattice is a1 = a (1, 0), a2 = a (1/2, sqrt3/2) (the nearest
    neighbours in H_NN), so K = (4 pi / 3a, 0) = (2/3, 1/3) in fractional coordinates is a
    corner of the hexagonal Brillouin zone.  At K (J = 0): the conduction state d_z2 sits at
    e1 - 3 t0 for both spins, the valence state (d_x2-y2 + i d_xy)/sqrt2 (L_z = +2) at
    e2 - 1.5 (t11 + t22) - 3 sqrt3 t12 +/- lambda (spin up higher).  At K' = -K the spins are
    exchanged (time reversal).
    """

    name = "tmd"
    n_bands = 6
    dim = 2
    domain = "lattice"
    energy_unit = "eV"
    length_unit = "Angstrom"
    equation = "3.78-3.80"
    parameters = (
        Parameter("J", 0.1, "eV", "exchange coupling J of J m . s between m and the electron spin "
                  "(the dissertation gives no value; 0.1 eV is an illustrative default)"),
        Parameter("a", _D["a"], "Angstrom", "lattice constant (material default, Liu et al. 2013)"),
        Parameter("e1", _D["e1"], "eV", "on-site energy of d_z2 (material default)"),
        Parameter("e2", _D["e2"], "eV", "on-site energy of d_xy and d_x2-y2 (material default)"),
        Parameter("t0", _D["t0"], "eV", "nearest-neighbour hopping d_z2 -> d_z2 (material default)"),
        Parameter("t1", _D["t1"], "eV", "nearest-neighbour hopping d_z2 -> d_xy (material default)"),
        Parameter("t2", _D["t2"], "eV", "nearest-neighbour hopping d_z2 -> d_x2-y2 (material default)"),
        Parameter("t11", _D["t11"], "eV", "nearest-neighbour hopping d_xy -> d_xy (material default)"),
        Parameter("t12", _D["t12"], "eV", "nearest-neighbour hopping d_xy -> d_x2-y2 (material default)"),
        Parameter("t22", _D["t22"], "eV", "nearest-neighbour hopping d_x2-y2 -> d_x2-y2 (material default)"),
        Parameter("lambda", _D["lambda"], "eV", "on-site spin-orbit coupling, (lambda/2) s_z L_z "
                  "(material default)"),
    )

    def __init__(self, material: str = _DEFAULT_MATERIAL, **params: float):
        material = _canonical_material(material)
        super().__init__(**{**MATERIALS[material], **params})
        self.material = material

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(material={self.material!r}, {args})"

    # -- three-band block ------------------------------------------------------------------
    def _angles(self, k):
        a = self.params["a"]
        return 0.5 * a * k[..., 0], 0.5 * SQRT3 * a * k[..., 1]

    def h_nn(self, k: np.ndarray) -> np.ndarray:
        """The spinless three-band H_NN(k), shape ``(..., 3, 3)`` (eq. 3.80)."""
        k = np.asarray(k, dtype=float)
        p = self.params
        al, be = self._angles(k)
        ca, sa, cb, sb = np.cos(al), np.sin(al), np.cos(be), np.sin(be)
        c2a, s2a = np.cos(2 * al), np.sin(2 * al)
        t0, t1, t2, t11, t12, t22 = (p[n] for n in ("t0", "t1", "t2", "t11", "t12", "t22"))
        h0 = 2 * t0 * (c2a + 2 * ca * cb) + p["e1"]
        h1 = -2 * SQRT3 * t2 * sa * sb + 2j * t1 * (s2a + sa * cb)
        h2 = 2 * t2 * (c2a - ca * cb) + 2j * SQRT3 * t1 * ca * sb
        h11 = 2 * t11 * c2a + (t11 + 3 * t22) * ca * cb + p["e2"]
        h22 = 2 * t22 * c2a + (3 * t11 + t22) * ca * cb + p["e2"]
        h12 = SQRT3 * (t22 - t11) * sa * sb + 4j * t12 * sa * (ca - cb)
        return _hermitian3(h0, h1, h2, h11, h12, h22)

    def dh_nn_dk(self, k: np.ndarray) -> np.ndarray:
        """Analytic k-derivatives dH_NN/dk_i, shape ``(..., 2, 3, 3)``."""
        k = np.asarray(k, dtype=float)
        p = self.params
        al, be = self._angles(k)
        ca, sa, cb, sb = np.cos(al), np.sin(al), np.cos(be), np.sin(be)
        c2a, s2a = np.cos(2 * al), np.sin(2 * al)
        t0, t1, t2, t11, t12, t22 = (p[n] for n in ("t0", "t1", "t2", "t11", "t12", "t22"))
        # derivatives with respect to alpha ...
        da = _hermitian3(
            2 * t0 * (-2 * s2a - 2 * sa * cb),
            -2 * SQRT3 * t2 * ca * sb + 2j * t1 * (2 * c2a + ca * cb),
            2 * t2 * (-2 * s2a + sa * cb) - 2j * SQRT3 * t1 * sa * sb,
            -4 * t11 * s2a - (t11 + 3 * t22) * sa * cb,
            SQRT3 * (t22 - t11) * ca * sb + 4j * t12 * (c2a - ca * cb),
            -4 * t22 * s2a - (3 * t11 + t22) * sa * cb,
        )
        # ... and beta
        db = _hermitian3(
            -4 * t0 * ca * sb,
            -2 * SQRT3 * t2 * sa * cb - 2j * t1 * sa * sb,
            2 * t2 * ca * sb + 2j * SQRT3 * t1 * ca * cb,
            -(t11 + 3 * t22) * ca * sb,
            SQRT3 * (t22 - t11) * sa * cb + 4j * t12 * sa * sb,
            -(3 * t11 + t22) * ca * sb,
        )
        a = p["a"]
        return np.stack([0.5 * a * da, 0.5 * SQRT3 * a * db], axis=-3)

    # -- six-band operators ----------------------------------------------------------------
    def _operators(self, k, m, which):
        """H (which = 0) or dH/dk (which = 1) on the broadcast batch by the compiled kernel
        :func:`magcore.models._tmd_kernels._tmd_operators` (the formulas of :meth:`h_nn` and
        :meth:`dh_nn_dk`); numba is imported here, where a kernel runs."""
        from ._tmd_kernels import _tmd_operators

        kf, mf, batch = self._flat_km(k, m)
        N = kf.shape[0]
        par = self._parameter_vector()
        out = np.empty((N, 2, 6, 6) if which else (N, 6, 6), dtype=complex)
        _tmd_operators(kf, mf, par, which, out.reshape(N, -1, 6, 6))
        return out.reshape(batch + out.shape[1:])

    def _flat_km(self, k, m):
        """k (N, 2) and m (N, 3) of the flattened broadcast batch, and the batch shape."""
        k, m, batch = broadcast_km(k, m, self.dim)
        N = int(np.prod(batch))
        kf = np.ascontiguousarray(np.broadcast_to(k, batch + (2,))).reshape(N, 2)
        mf = np.ascontiguousarray(np.broadcast_to(m, batch + (3,))).reshape(N, 3)
        return kf, mf, batch

    def _parameter_vector(self):
        p = self.params
        return np.array([p[x] for x in ("a", "e1", "e2", "t0", "t1", "t2", "t11", "t12", "t22", "lambda", "J")])

    def hamiltonian(self, k, m):
        """H(k; m), eqs. (3.78)-(3.80), shape ``batch + (6, 6)`` (eV)."""
        return self._operators(k, m, 0)

    def hamiltonian_uncompiled(self, k, m):
        """H(k; m) assembled in numpy from :meth:`h_nn`: I2 (x) H_NN + (lambda/2) s_z (x) L_z +
        J m . s (x) I3 (eqs. 3.78-3.80), the same matrix as :meth:`hamiltonian` to round-off."""
        k, m, batch = broadcast_km(k, m, self.dim)
        h = np.broadcast_to(self.h_nn(k), batch + (3, 3))
        soc = 0.5 * self.params["lambda"] * L_Z
        H = np.zeros(batch + (6, 6), dtype=complex)
        H[..., :3, :3] = h + soc
        H[..., 3:, 3:] = h - soc
        return H + np.einsum("...i,iab->...ab", np.broadcast_to(m, batch + (3,)), self.exchange_coupling())

    def dh_dk(self, k, m):
        """dH/dk_i (eV Angstrom), shape ``batch + (2, 6, 6)``: I2 (x) dH_NN/dk_i."""
        return self._operators(k, m, 1)

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        ops = self.params["J"] * self.spin_operators()
        return np.broadcast_to(ops, batch + (3, 6, 6)).copy()

    def spin_operators(self):
        """s_i (x) I3 (Pauli units), shape ``(3, 6, 6)``; spin is the outer factor."""
        return np.stack([np.kron(s, np.eye(3)) for s in PAULI[1:]])

    def exchange_coupling(self):
        """J s_i (x) I3: the exchange term J m . s of eq. 3.75 is the only m dependence."""
        return self.params["J"] * self.spin_operators()

    # -- lattice ---------------------------------------------------------------------------
    def lattice_vectors(self):
        a = self.params["a"]
        return a * np.array([[1.0, 0.0], [0.5, 0.5 * SQRT3]])

    def high_symmetry_path(self):
        """Gamma - M - K - Gamma in fractional coordinates of the reciprocal vectors
        (M = b1/2, K = (2 b1 + b2)/3 = (4 pi / 3a, 0))."""
        return [
            ("Gamma", np.array([0.0, 0.0])),
            ("M", np.array([0.5, 0.0])),
            ("K", np.array([2.0 / 3.0, 1.0 / 3.0])),
            ("Gamma", np.array([0.0, 0.0])),
        ]


def _hermitian3(h0, h1, h2, h11, h12, h22) -> np.ndarray:
    """[[h0, h1, h2], [h1*, h11, h12], [h2*, h12*, h22]] for batches of entries."""
    shape = np.broadcast_shapes(*(np.shape(x) for x in (h0, h1, h2, h11, h12, h22)))
    H = np.empty(shape + (3, 3), dtype=complex)
    H[..., 0, 0] = h0
    H[..., 1, 1] = h11
    H[..., 2, 2] = h22
    H[..., 0, 1] = h1
    H[..., 1, 0] = np.conj(h1)
    H[..., 0, 2] = h2
    H[..., 2, 0] = np.conj(h2)
    H[..., 1, 2] = h12
    H[..., 2, 1] = np.conj(h12)
    return H
