"""Model base classes: a model is data (its parameters) plus vectorised functions.

Every model maps a batch of crystal momenta ``k`` with shape ``(..., dim)`` and a batch of
magnetization vectors ``m`` with shape ``(..., 3)`` (the two batch shapes broadcast) to

* ``hamiltonian(k, m)``  -> ``(..., n, n)`` complex Hermitian,
* ``dh_dk(k, m)``        -> ``(..., dim, n, n)``, the velocity operator dH/dk_i (hbar = 1),
* ``dh_dm(k, m)``        -> ``(..., 3, n, n)``, the torque operator dH/dm_i.

``m`` is the full magnetization vector (direction times the magnitude ``|m|``), in the
global Cartesian frame of ``docs/physics.md``.  Units: hbar = e = 1; each model declares
its energy and length units.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

PAULI = np.array(
    [
        [[1, 0], [0, 1]],
        [[0, 1], [1, 0]],
        [[0, -1j], [1j, 0]],
        [[1, 0], [0, -1]],
    ],
    dtype=complex,
)
"""Identity and Pauli matrices s_0, s_x, s_y, s_z."""


@dataclass(frozen=True)
class Parameter:
    """A named model parameter with its default value, units and meaning."""

    name: str
    default: float
    units: str
    description: str


class Model:
    """Base class of all Bloch-Hamiltonian models.

    Subclasses set the class attributes and implement the three vectorised operators.
    Instances are cheap, picklable (they travel to Dask workers) and immutable by convention.
    """

    name: ClassVar[str] = ""
    n_bands: ClassVar[int] = 0
    dim: ClassVar[int] = 0
    domain: ClassVar[str] = "continuum"  # "continuum" (disc |k - k0(m)| < k_c) or "lattice"
    energy_unit: ClassVar[str] = ""
    length_unit: ClassVar[str] = ""
    equation: ClassVar[str] = ""
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    batched_eigensystems: ClassVar[bool] = False
    """True: with at least :data:`magcore.kernels.BATCHED_MIN_BANDS` bands the chapter-2 sums
    take the batched LAPACK path (:func:`magcore.kernels.chapter2_sums`); the built-in models
    keep their compiled paths."""

    def __init__(self, **params: float):
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(
                f"model {self.name!r}: unknown parameter(s) {unknown}; "
                f"allowed: {sorted(known)}"
            )
        values = {}
        for p in self.parameters:
            value = params.get(p.name, p.default)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(
                    f"model {self.name!r}: parameter {p.name!r} must be a number, got {value!r}"
                )
            if not np.isfinite(value):
                raise ValueError(f"model {self.name!r}: parameter {p.name!r} must be finite, got {value!r}")
            values[p.name] = float(value)
        self.params = values

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def fingerprint(self) -> str:
        """SHA-256 of what defines this model's Hamiltonian: its class, parameters and (where it
        has one) material.  Models built from data (tight binding) hash the data.  Two models
        with the same fingerprint give the same H(k; m); equality and hashing use it."""
        text = repr((type(self).__name__, sorted(self.params.items()), str(getattr(self, "material", ""))))
        return hashlib.sha256(text.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.fingerprint() == other.fingerprint()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    # -- operators ---------------------------------------------------------------------------
    def hamiltonian(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def hamiltonian_uncompiled(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        """H(k; m) without compiled code (numba), for checks that must not compile (config
        validation); a model whose :meth:`hamiltonian` is compiled overrides it."""
        return self.hamiltonian(k, m)

    def dh_dk(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def dh_dm(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def spin_operators(self) -> np.ndarray:
        """Spin operators s_x, s_y, s_z in the orbital basis, shape ``(3, n, n)`` (Pauli units)."""
        raise NotImplementedError

    def exchange_coupling(self) -> np.ndarray | None:
        """Constant matrices M_i, shape ``(3, n, n)``, when H is affine in m with a
        k-independent coupling, H(k; m) = H(k; 0) + sum_i m_i M_i (then dH/dm_i = M_i and dH/dk
        does not depend on m); ``None`` otherwise (the default).

        Declaring it lets the compiled kernels evaluate H(k; 0) and dH/dk once per k-point and
        reuse them for every magnetization (``tests/physics/test_builtin_models.py`` checks the
        declaration against :meth:`hamiltonian` and :meth:`dh_dm` for every model that makes it).
        """
        return None

    def lattice_vectors(self) -> np.ndarray:
        """Real-space lattice vectors as rows, shape ``(dim, dim)``, in ``length_unit``
        (lattice models only)."""
        raise NotImplementedError(f"model {self.name!r} is a continuum model: it has no lattice")

    def reciprocal_vectors(self) -> np.ndarray:
        """Reciprocal vectors b_i as rows, a_i . b_j = 2 pi delta_ij, in 1 / ``length_unit``."""
        return 2 * np.pi * np.linalg.inv(self.lattice_vectors()).T

    def high_symmetry_path(self) -> list[tuple[str, np.ndarray]]:
        """Labelled corners of the band-structure path.

        Lattice models: fractional coordinates (in units of the reciprocal vectors).  Continuum
        models: k relative to :meth:`k_center`; the default is a line along k_x.
        """
        if self.domain == "lattice":
            raise NotImplementedError(f"model {self.name!r} does not define a high-symmetry path")
        e = np.zeros(self.dim)
        e[0] = 1.0
        return [("-k_x", -e), ("k0", 0 * e), ("+k_x", e)]

    def k_center(self, m: np.ndarray) -> np.ndarray:
        """Centre of the continuum cutoff disc for magnetization ``m``, shape ``(..., dim)``.

        Continuum models integrate over ``|k - k_center(m)| < k_c``.  The default is the
        origin; Dirac models centre the disc on their (m-shifted) band-touching point, the
        regularisation in which the dissertation's closed forms (e.g. eq. 2.35) hold.
        """
        m = np.asarray(m, dtype=float)
        return np.zeros(m.shape[:-1] + (self.dim,))


class TwoBandModel(Model):
    """H = d_0 + d . s: subclasses give the d-vector and its k and m Jacobians.

    ``d_vector(k, m)`` returns ``(..., 4)`` = (d_0, d_x, d_y, d_z); ``d_jacobian_k`` returns
    ``(..., dim, 4)`` and ``d_jacobian_m`` returns ``(..., 3, 4)``.  The closed-form
    eigensystem in :func:`magcore.bands.eigensystem` uses ``d_vector`` directly.
    """

    n_bands: ClassVar[int] = 2

    def d_vector(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def d_jacobian_k(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def d_jacobian_m(self, k: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Default: the exchange term J m . s (parameter ``J``), d(d_i)/d(m_j) = J delta_ij."""
        k, m, batch = broadcast_km(k, m, self.dim)
        jac = np.zeros(batch + (3, 4))
        for i in range(3):
            jac[..., i, i + 1] = self.params["J"]
        return jac

    def hamiltonian(self, k, m):
        return np.einsum("...a,aij->...ij", self.d_vector(k, m), PAULI)

    def dh_dk(self, k, m):
        return np.einsum("...pa,aij->...pij", self.d_jacobian_k(k, m), PAULI)

    def dh_dm(self, k, m):
        return np.einsum("...pa,aij->...pij", self.d_jacobian_m(k, m), PAULI)

    def spin_operators(self):
        return PAULI[1:].copy()


def broadcast_km(k: np.ndarray, m: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Check the trailing axes of ``k`` and ``m`` and return them with their common batch shape."""
    k = np.asarray(k, dtype=float)
    m = np.asarray(m, dtype=float)
    if k.shape[-1:] != (dim,):
        raise ValueError(f"k must have a trailing axis of length {dim}, got shape {k.shape}")
    if m.shape[-1:] != (3,):
        raise ValueError(f"m must have a trailing axis of length 3, got shape {m.shape}")
    batch = np.broadcast_shapes(k.shape[:-1], m.shape[:-1])
    return k, m, batch
