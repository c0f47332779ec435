"""The LLG equation in vector form on the unit sphere (eqs. 2.15, 2.26) and its ingredients.

State: the unit vector m_hat = m / |m| (|m| = ``magnitude``, constant).  With the full vector
m = |m| m_hat, eq. 2.26 reads

    m_dot = -gamma m x (H - eta . m_dot) - gamma tau_so
    =>  m_hat_dot = -gamma m_hat x (H - |m| eta . m_hat_dot) - (gamma / |m|) tau_so,

H = H_c + H_nc the sum of the conservative fields H_c = -dE/dm of the energy terms and of the
non-conservative fields H_nc (H^E of eq. 2.17, the Faraday field of eq. 2.41, ...).  The
equation is linear in m_hat_dot:

    (I - gamma |m| [m_hat]_x eta) m_hat_dot = -gamma (m_hat x H + tau_so / |m|),

solved exactly at every point: for scalar gamma and isotropic damping eta = eta0 I, with
a = gamma |m| eta0 (the Gilbert constant) and b = -gamma (m_hat x H + tau / |m|),

    m_hat_dot = (b . m_hat) m_hat + (b_t + a m_hat x b_t) / (1 + a^2)          (b_t = tangential b)

(the Landau-Lifshitz form); otherwise by a batched 3x3 solve.  For a positive semi-definite eta
the matrix is never singular (v = gamma [m]_x eta v implies v . eta v = 0).

Gyromagnetic tensor: gamma may be a 3x3 tensor Gamma(m) (a generalisation: e.g. an anisotropic
g tensor).  It acts on the torque and the result is projected on the tangent plane,
m_hat_dot = -P Gamma (m_hat x (H - |m| eta m_hat_dot) + tau/|m|), P = I - m_hat m_hat^T, so
|m| is conserved; Gamma = gamma I gives the scalar form.  In the dissertation gamma is the
scalar of eq. 2.16, Omega = m / (gamma m^2): only the radial part of the Berry curvature
vector enters transverse dynamics (the field-induced correction gamma' = gamma / (1 +
gamma/gamma_E), eq. 2.18 ff., is also a scalar).

Energy bookkeeping (scalar gamma, no tau_so): dE/dt = P_in - P_diss with the power of the
non-conservative fields P_in = |m| H_nc . m_hat_dot and the dissipation
P_diss = |m|^2 m_hat_dot . eta . m_hat_dot; both are integrated along trajectories.

Every parameter may be shared by the batch (a number, a vector) or given per trajectory (a
leading batch axis); methods take the batch indices ``idx`` of the rows being evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..geometry import skew
from ._util import batched, cross, dot, numeric, take, unit
from .interp import SphereMaps

ALL = slice(None)


# ============================================================================ energy / field terms


class Term:
    """A contribution to the effective field.  Conservative terms have an energy density
    E(m_hat) and H = -(1/|m|) dE/dm_hat; non-conservative ones only a field.  Terms whose field
    diverges or has no limit at some directions list them in ``singular_points`` ((P or 1, k, 3))."""

    conservative = True
    equation = "-"
    description = ""

    def singular_points(self, idx=ALL) -> np.ndarray | None:
        return None

    def energy(self, m: np.ndarray, idx=ALL) -> np.ndarray:
        raise NotImplementedError

    def field(self, m: np.ndarray, idx=ALL) -> np.ndarray:
        raise NotImplementedError


class UniaxialAnisotropy(Term):
    """E = -K (m_hat . n)^2, easy axis n for K > 0 (hard axis for K < 0);
    H = 2 K (m_hat . n) n / |m|.  The 1D ferromagnet of section 2.4.1 is n = x
    (e_uni = -K_uni sin^2 t sin^2 p), the TI-electron term e_ti = -K_ti m_y^2 is n = y."""

    equation = "2.43-2.44"

    def __init__(self, K, axis=(0.0, 0.0, 1.0), magnitude: float = 1.0):
        self.K = batched(K, 0, "K")
        self.axis = batched(unit(axis, "axis"), 1, "axis")
        self.magnitude = float(magnitude)
        self.description = "uniaxial anisotropy E = -K (m.n)^2"

    def energy(self, m, idx=ALL):
        return -take(self.K, idx) * dot(m, take(self.axis, idx)) ** 2

    def field(self, m, idx=ALL):
        n = take(self.axis, idx)
        return (2.0 / self.magnitude) * (take(self.K, idx) * dot(m, n))[:, None] * n


def ti_edge_anisotropy(K_ti, magnitude: float = 1.0) -> UniaxialAnisotropy:
    """The topological-edge-electron energy e_ti = -K_ti m_y^2 = -K_ti cos^2(theta) (sec. 2.4.1,
    polar axis y; K_ti < 0 makes y a hard axis)."""
    term = UniaxialAnisotropy(K_ti, (0.0, 1.0, 0.0), magnitude)
    term.description = "TI edge-electron anisotropy e_ti = -K_ti m_y^2"
    return term


class Zeeman(Term):
    """E = -H_Z . m = -|m| H_Z . m_hat; H = H_Z."""

    equation = "-"

    def __init__(self, field, magnitude: float = 1.0):
        self.H = batched(field, 1, "field")
        self.magnitude = float(magnitude)
        self.description = "Zeeman E = -H_Z . m"

    def energy(self, m, idx=ALL):
        return -self.magnitude * dot(m, take(self.H, idx))

    def field(self, m, idx=ALL):
        return take(self.H, idx)  # (1 or P, 3): broadcasts


class FaradayField(Term):
    """The field-induced (Faraday) field winding about an axis n (the 2D-TI edge, sec. 2.4):

        form "2.41":  H^E = (B/|m|) (-e_phi / sin t) = -(B/|m|) (n x m_hat) / |n x m_hat|^2
        form "2.45":  H^E = -(B/|m|) e_phi          = -(B/|m|) (n x m_hat) / |n x m_hat|

    with t the polar angle from n and e_phi = n x m_hat / sin t (phi increases for a positive
    rotation about n), B = eE / 2 pi.  Eq. 2.41 has covariant component H . dm/dphi = -B, so the
    work around a loop circling n C times is -2 pi B C = -eE C (eq. 2.42, quantized); it
    diverges at the singular points m_hat = +/-n.  Eq. 2.45 as printed, (0, -B sin t) on the
    right-hand side of the angle equations, corresponds instead to H_phi = -B (the "2.45"
    form), whose work per turn, -2 pi B sin t, is not quantized.  ``core`` > 0 regularises the
    singular points: |n x m_hat|^2 -> |n x m_hat|^2 + core^2.
    """

    conservative = False
    FORMS = {"2.41": 2, "2.45": 1}

    def __init__(self, B, axis=(0.0, 1.0, 0.0), form: str = "2.41", core: float = 0.0, magnitude: float = 1.0):
        if str(form) not in self.FORMS:
            raise ValueError(f"Faraday field form must be one of {sorted(self.FORMS)}, got {form!r}")
        self.form = str(form)
        self.power = self.FORMS[self.form]
        self.B = batched(B, 0, "B")
        self.axis = batched(unit(axis, "axis"), 1, "axis")
        self.core = float(core)
        self.magnitude = float(magnitude)
        self.equation = "2.41" if self.form == "2.41" else "2.45"
        self.description = f"Faraday field about n, eq. {self.form} form"

    def singular_points(self, idx=ALL):
        if self.core > 0:
            return None
        n = take(self.axis, idx)
        return np.stack([n, -n], axis=1)

    def field(self, m, idx=ALL):
        nxm = cross(take(self.axis, idx), m)
        s2 = dot(nxm, nxm) + self.core**2
        pos = s2 > 0
        s2 = np.where(pos, s2, 1.0)
        scale = (1.0 / s2 if self.power == 2 else 1.0 / np.sqrt(s2)) * pos
        return -(take(self.B, idx) * (scale / self.magnitude))[:, None] * nxm


class HemisphereField(Term):
    """H^E = -c s(m_hat . n) d: constant magnitude, opposite directions on the two hemispheres
    about the normal n (eq. 2.36 for the 3D-TI surface: c = eE|alpha| / (4 pi m a), n = z,
    d = x).  s = sgn for ``width`` = 0, else tanh(x / width) (the gap closes on the equator;
    a finite width also makes the stable half equator a line of ordinary fixed points).
    Locally it is -dG/dm of G_N/S = +/- c |m| m_hat . d (eq. 2.37), globally non-conservative
    (curl on the equator)."""

    conservative = False
    equation = "2.36-2.37"

    def __init__(self, strength, normal=(0.0, 0.0, 1.0), direction=(1.0, 0.0, 0.0), width: float = 0.0):
        self.c = batched(strength, 0, "strength")
        self.normal = batched(unit(normal, "normal"), 1, "normal")
        self.direction = batched(np.asarray(direction, float), 1, "direction")
        self.width = float(width)
        self.description = "hemisphere field H = -c s(m.n) d"

    def switch(self, x):
        return np.sign(x) if self.width == 0 else np.tanh(x / self.width)

    def field(self, m, idx=ALL):
        s = self.switch(dot(m, take(self.normal, idx)))
        return -(take(self.c, idx) * s)[:, None] * take(self.direction, idx)


class FieldFunction(Term):
    """A user field H(m_hat) (P, 3) -> (P, 3); conservative iff ``energy`` (m_hat -> (P,)) is
    given, and then the caller promises H = -(1/|m|) dE/dm_hat."""

    def __init__(self, field: Callable, energy: Callable | None = None, description: str = "user field"):
        self._field, self._energy = field, energy
        self.conservative = energy is not None
        self.description = description

    def energy(self, m, idx=ALL):
        return np.asarray(self._energy(m), float)

    def field(self, m, idx=ALL):
        return np.asarray(self._field(m), float)


class SphereFreeEnergy(Term):
    """Tabulated G (``free_energy``): E = G(m_hat) interpolated, H = -(1/|m|) grad G
    (``source="free_energy"``), or H interpolated from the stored Cartesian
    ``effective_field`` (``source="effective_field"``, the default when present; its radial
    part does not act)."""

    equation = "2.12"

    def __init__(self, maps: SphereMaps, source: str | None = None):
        self.maps = maps
        if source is None:
            source = "effective_field" if "effective_field" in maps.ds else "free_energy"
        if source not in ("free_energy", "effective_field"):
            raise ValueError(f"source must be 'free_energy' or 'effective_field', got {source!r}")
        self.source = source
        self.has_energy = "free_energy" in maps.ds
        self.description = f"tabulated free energy, H from {source}"

    def energy(self, m, idx=ALL):
        if not self.has_energy:
            return np.full(len(m), np.nan)
        return self.maps.free_energy(m)

    def field(self, m, idx=ALL):
        if self.source == "free_energy":
            return self.maps.field_from_free_energy(m)
        return self.maps.effective_field(m)


class SphereFieldInduced(Term):
    """Tabulated field per unit eE contracted with the electric field: H^E_i = X_ij eE_j
    (``field_induced_field`` by default, or its ``_intrinsic`` / ``_extrinsic`` parts, eq. 2.17).
    ``electric_field`` (n_field,) or per trajectory (N, n_field)."""

    conservative = False
    equation = "2.17"

    def __init__(self, maps: SphereMaps, electric_field, variable: str = "field_induced_field"):
        self.maps = maps
        self.variable = variable
        E = np.asarray(electric_field, float)
        E = E[None] if E.ndim == 1 else E
        if E.shape[-1] > maps.n_field:
            raise ValueError(f"electric field has {E.shape[-1]} components, the map has {maps.n_field}")
        self.E = np.concatenate([E, np.zeros(E.shape[:-1] + (maps.n_field - E.shape[-1],))], axis=-1)
        self.description = f"tabulated {variable} . eE"

    def field(self, m, idx=ALL):
        X = self.maps.per_field(self.variable, ("component", "field"))(m)  # (P, 3, field)
        return np.einsum("pif,pf->pi", X, np.broadcast_to(take(self.E, idx), (len(m), self.E.shape[-1])))


# ============================================================================ coefficients


def _coefficient(spec, name: str, maps_attr: str | None = None):
    """gamma or eta as a function (m, idx) -> (P,) [scalar] or (P, 3, 3) [tensor]."""
    if callable(spec):
        def f(m, idx=ALL, _s=spec):
            return np.asarray(_s(m), float)
        return f
    a = np.asarray(spec, float)
    if a.ndim in (0, 1):
        a = batched(a, 0, name)
        return lambda m, idx=ALL: take(a, idx)
    if a.ndim in (2, 3):
        a = batched(a, 2, name)
        return lambda m, idx=ALL: take(a, idx)
    raise ValueError(f"{name}: expected a scalar, (N,), (3,3) or (N,3,3), got shape {a.shape}")


class Torque:
    """A spin-orbit torque tau_so(m_hat) entering m_dot = ... - gamma tau_so (eq. 2.26).
    ``func(m_hat) -> (P, 3)``; it must be perpendicular to m."""

    def __init__(self, func: Callable, description: str = "user torque"):
        self.func = func
        self.description = description

    def __call__(self, m, idx=ALL):
        return np.asarray(self.func(m), float)


class SphereTorque(Torque):
    """Tabulated torque per unit eE (``torque_H``, ``torque_gamma``, ``torque_eta`` and their
    parts, eqs. 2.27-2.29) contracted with the electric field.  Do not combine ``torque_H`` with
    the field-induced field H^E: tau^H = m x H^E is the same physics."""

    def __init__(self, maps: SphereMaps, variable: str, electric_field):
        self.maps, self.variable = maps, variable
        E = np.asarray(electric_field, float)
        E = E[None] if E.ndim == 1 else E
        self.E = np.concatenate([E, np.zeros(E.shape[:-1] + (maps.n_field - E.shape[-1],))], axis=-1)
        self.description = f"tabulated {variable} . eE"

    def __call__(self, m, idx=ALL):
        X = self.maps.per_field(self.variable, ("component", "field"))(m)
        return np.einsum("pif,pf->pi", X, np.broadcast_to(take(self.E, idx), (len(m), self.E.shape[-1])))


# ============================================================================ the equation of motion


@dataclass
class LLG:
    """m_hat_dot = -gamma m_hat x (H - |m| eta . m_hat_dot) - (gamma/|m|) tau_so (eqs. 2.15, 2.26).

    ``terms``: energy and field terms (:class:`Term`); ``gamma``: number, per-trajectory array
    (N,), 3x3 tensor (or (N,3,3)), or a callable m_hat -> (P,) or (P,3,3); ``damping`` (eta):
    the same kinds (a number means eta I); ``torques``: :class:`Torque` objects; ``magnitude``:
    |m|.  Parameters given per trajectory index the batch of the integrator.
    """

    terms: Sequence[Term] = ()
    gamma: Any = 1.0
    damping: Any = 0.0
    magnitude: float = 1.0
    torques: Sequence[Torque] = ()
    description: str = ""
    _gamma: Callable = dc_field(init=False, repr=False)
    _eta: Callable = dc_field(init=False, repr=False)

    def __post_init__(self):
        if self.magnitude <= 0:
            raise ValueError(f"magnitude must be > 0, got {self.magnitude}")
        self.terms = list(self.terms)
        self.torques = list(self.torques)
        self._gamma = _coefficient(self.gamma, "gamma")
        self._eta = _coefficient(self.damping, "damping")

    @property
    def energy_balance_holds(self) -> bool:
        """Whether dE/dt = P_in - P_diss holds exactly: a scalar gamma (possibly m-dependent) and
        no tau_so (a gyromagnetic tensor or torques break the identity)."""
        if self.torques:
            return False
        probe = np.array([[0.48, 0.6, 0.64]])
        try:
            g = np.asarray(self._gamma(probe, np.array([0])), float)
        except Exception:  # noqa: BLE001 - a user callable that cannot take the probe
            return False
        return g.ndim <= 1

    @property
    def has_energy(self) -> bool:
        return any(t.conservative for t in self.terms)

    def fields(self, m: np.ndarray, idx=ALL) -> tuple[np.ndarray, np.ndarray]:
        """(H_c, H_nc), each (P, 3)."""
        Hc = Hn = 0.0
        for t in self.terms:
            if t.conservative:
                Hc = Hc + t.field(m, idx)
            else:
                Hn = Hn + t.field(m, idx)
        return Hc + np.zeros_like(m), Hn + np.zeros_like(m)

    def field(self, m: np.ndarray, idx=ALL) -> np.ndarray:
        Hc, Hn = self.fields(m, idx)
        return Hc + Hn

    def near_singular_point(self, m: np.ndarray, idx=ALL, radius: float = 1e-3) -> np.ndarray:
        """(P,) bool: m within ``radius`` (rad) of a singular point of some term."""
        hit = np.zeros(len(m), dtype=bool)
        for t in self.terms:
            pts = t.singular_points(idx)
            if pts is None:
                continue
            cosang = np.einsum("pi,pki->pk", m, np.broadcast_to(pts, (len(m),) + pts.shape[1:]))
            hit |= np.any(cosang >= np.cos(radius), axis=1)
        return hit

    def energy(self, m: np.ndarray, idx=ALL) -> np.ndarray:
        """Energy density of the conservative terms (NaN if some term has none)."""
        e = np.zeros(len(m))
        for t in self.terms:
            if t.conservative:
                e = e + t.energy(m, idx)
        return e

    def rate(self, m: np.ndarray, idx=ALL, power: bool = False):
        """m_hat_dot (P, 3) at unit vectors m (P, 3) (normalised here, so the vector field is
        tangent to every sphere |m| = const); with ``power`` also (P_in, P_diss) (P, 2)."""
        m = m / np.sqrt(dot(m, m))[:, None]
        M = self.magnitude
        Hc, Hn = self.fields(m, idx)
        H = Hc + Hn
        b = cross(m, H)
        for tq in self.torques:
            b = b + tq(m, idx) / M
        g = np.asarray(self._gamma(m, idx), float)
        eta = np.asarray(self._eta(m, idx), float)
        if g.ndim <= 1 and eta.ndim <= 1:
            g = g.reshape(-1, 1)  # (1 or P, 1)
            a = g * (M * eta.reshape(-1, 1))
            b = -g * b
            br = dot(b, m)[:, None]
            bt = b - br * m
            mdot = br * m + (bt + a * cross(m, bt)) / (1.0 + a * a)
        else:
            P = len(m)
            eye = np.eye(3)
            if g.ndim <= 1:
                Gm = np.broadcast_to(g, (P,))[:, None, None] * eye
            else:
                proj = eye - m[:, :, None] * m[:, None, :]
                Gm = proj @ np.broadcast_to(g, (P, 3, 3))
            etam = np.broadcast_to(eta, (P,))[:, None, None] * eye if eta.ndim <= 1 else np.broadcast_to(eta, (P, 3, 3))
            A = eye - M * Gm @ skew(m) @ etam
            mdot = np.linalg.solve(A, -(Gm @ b[:, :, None]))[..., 0]
        if not power:
            return mdot
        if eta.ndim <= 1:
            diss = M * M * eta.reshape(-1) * dot(mdot, mdot) + np.zeros(len(m))
        else:
            diss = M * M * np.einsum("pi,pij,pj->p", mdot, np.broadcast_to(eta, (len(m), 3, 3)), mdot)
        return mdot, np.stack([M * dot(Hn, mdot), diss], axis=-1)

    def __call__(self, m, idx=ALL):
        return self.rate(m, idx)


# ============================================================================ building from a spec

TERM_KINDS = ("uniaxial", "ti_edge", "zeeman", "faraday", "hemisphere_field", "sphere_free_energy",
              "sphere_field_induced")

STUDY_FIELD = "study"
"""The value of a gamma/damping ``electric_field`` that asks for the study's field."""


def resolve_electric_fields(spec: Mapping[str, Any], electric_field) -> dict[str, Any]:
    """A copy of an ``llg.model`` spec with the study's ``electric_field`` (a list, or None for
    none) written into every ``sphere_field_induced`` term and torque whose ``electric_field``
    is absent or null, and into gamma/damping ``{sphere: ..., electric_field: study}``.  Keys
    keep their order.  A spec that needs the study's field when there is none, or a gamma/damping
    field string other than ``study``, is a ``ValueError`` naming the key."""

    def field(key: str) -> list:
        if electric_field is None:
            raise ValueError(f"{key}: takes the study's electric_field, but none is given")
        return list(electric_field)

    out = dict(spec)
    if "terms" in spec:
        out["terms"] = []
        for i, term in enumerate(spec["terms"] or []):
            term = dict(term)
            if term.get("kind") == "sphere_field_induced" and term.get("electric_field") is None:
                term["electric_field"] = field(f"llg.model.terms.{i}.electric_field")
            out["terms"].append(term)
    if "torques" in spec:
        out["torques"] = []
        for i, torque in enumerate(spec["torques"] or []):
            torque = dict(torque)
            if torque.get("electric_field") is None:
                torque["electric_field"] = field(f"llg.model.torques.{i}.electric_field")
            out["torques"].append(torque)
    for name in ("gamma", "damping"):
        v = spec.get(name)
        if isinstance(v, Mapping) and isinstance(v.get("electric_field"), str):
            if v["electric_field"] != STUDY_FIELD:
                raise ValueError(f"llg.model.{name}.electric_field = {v['electric_field']!r}: must be a list, "
                                 f"null or {STUDY_FIELD!r}")
            out[name] = {**v, "electric_field": field(f"llg.model.{name}.electric_field")}
    return out


class _SpecContext:
    """What the builders of one :func:`build_llg` call share: the expression names (constants
    and sweep axes), the sphere maps (or None) and |m|."""

    def __init__(self, spec: Mapping[str, Any], params: Mapping[str, Any] | None, sphere):
        self.names = {k: numeric(v) for k, v in (spec.get("parameters") or {}).items()}
        self.names.update({k: np.asarray(v, float) for k, v in (params or {}).items()})
        self.maps = sphere
        if sphere is not None and not isinstance(sphere, SphereMaps):
            self.maps = SphereMaps(sphere, nan_policy=spec.get("nan_policy", "raise"))
        magnitude = spec.get("magnitude")  # None (the config default): the maps' |m|, else 1
        if magnitude is None:
            magnitude = self.maps.magnitude if self.maps is not None else 1.0
        self.magnitude = float(numeric(magnitude, self.names))

    def num(self, value):
        return numeric(value, self.names)

    def need_maps(self, what: str) -> SphereMaps:
        if self.maps is None:
            raise ValueError(f"{what} needs tabulated sphere maps (sphere=...)")
        return self.maps


def _build_term(t: Mapping[str, Any], ctx: _SpecContext) -> Term:
    """One energy or field term of the spec."""
    kind, num, M = t.get("kind"), ctx.num, ctx.magnitude
    if kind == "uniaxial":
        return UniaxialAnisotropy(num(t["K"]), num(t.get("axis", [0, 0, 1])), M)
    if kind == "ti_edge":
        return ti_edge_anisotropy(num(t["K_ti"]), M)
    if kind == "zeeman":
        return Zeeman(num(t["field"]), M)
    if kind == "faraday":
        return FaradayField(num(t["B"]), num(t.get("axis", [0, 1, 0])), str(t.get("form", "2.41")),
                            float(t.get("core", 0.0)), M)
    if kind == "hemisphere_field":
        return HemisphereField(num(t["strength"]), num(t.get("normal", [0, 0, 1])),
                               num(t.get("direction", [1, 0, 0])), float(t.get("width", 0.0)))
    if kind == "sphere_free_energy":
        return SphereFreeEnergy(ctx.need_maps(kind), t.get("source"))
    if kind == "sphere_field_induced":
        return SphereFieldInduced(ctx.need_maps(kind), num(t["electric_field"]),
                                  t.get("variable", "field_induced_field"))
    raise ValueError(f"unknown term kind {kind!r}; known: {TERM_KINDS}")


def _build_coefficient(v, name: str, ctx: _SpecContext):
    """gamma or eta: a number, expression or tensor, or interpolated from the sphere maps
    ({sphere: ...}), with the field-induced part when an ``electric_field`` is given."""
    if not (isinstance(v, Mapping) and "sphere" in v):
        return ctx.num(v)
    mp = ctx.need_maps(f"{name}: sphere")
    var = v["sphere"]
    if name == "gamma":
        base = lambda m, _v=var: mp.interpolator(_v)(m)
        if v.get("electric_field") is None:
            return base
        E = np.asarray(ctx.num(v["electric_field"]), float)
        return lambda m: base(m) / (1.0 + base(m) * (mp.inverse_gamma_E(m)[:, :E.shape[-1]] @ E))
    base = lambda m, _v=var: mp.interpolator(_v, ("component", "component2"))(m)
    if v.get("electric_field") is None:
        return base
    E = np.asarray(ctx.num(v["electric_field"]), float)
    etaE = mp.interpolator("damping_E", ("component", "component2", "field"))
    return lambda m: base(m) + etaE(m)[..., :E.shape[-1]] @ E


def build_llg(spec: Mapping[str, Any], params: Mapping[str, Any] | None = None, *,
              sphere: SphereMaps | Any = None, electric_field=None) -> LLG:
    """An :class:`LLG` from a config-like dict (the ``llg.model`` section).

    Numbers may be expressions of ``params`` (sweep axes, per trajectory) and of the spec's own
    ``parameters`` (constants), e.g. ``damping: "2*alpha"``, ``field: [0, "H_over_K", 0]``::

        parameters: {A: 1.0}          # constants usable in expressions
        magnitude: 1.0
        gamma: "1/A"                  # number/expression, or {sphere: gyromagnetic_ratio}
        damping: "2*alpha"            # number/expression (eta I), 3x3 list, or {sphere: damping}
        terms:
          - {kind: uniaxial, K: 1.0, axis: [1, 0, 0]}
          - {kind: ti_edge, K_ti: -1.0}                       # e_ti = -K_ti m_y^2
          - {kind: zeeman, field: [0, "H_over_K", 0]}
          - {kind: faraday, B: "B_over_K", axis: [0, 1, 0], form: "2.41", core: 0.0}
          - {kind: hemisphere_field, strength: 0.5, normal: [0, 0, 1], direction: [1, 0, 0], width: 0.02}
          - {kind: sphere_free_energy, source: effective_field}   # needs sphere=
          - {kind: sphere_field_induced, electric_field: [160, 0], variable: field_induced_field}
        torques:
          - {sphere: torque_gamma, electric_field: [160, 0]}

    ``sphere``: a :class:`SphereMaps` or an xarray Dataset (sphere.zarr layout) for the tabulated
    terms.  ``{sphere: gyromagnetic_ratio}`` for gamma may add ``electric_field`` to include the
    field-induced renormalisation gamma' = gamma / (1 + gamma / gamma_E) (eq. 2.18 ff.);
    ``{sphere: damping}`` may add ``electric_field`` to include eta^E (eq. 2.19).
    ``electric_field``: the study's field, taken by the terms and torques that leave theirs out
    and by gamma/damping ``electric_field: study`` (:func:`resolve_electric_fields`).
    """
    spec = resolve_electric_fields(spec, electric_field)
    ctx = _SpecContext(spec, params, sphere)
    terms = [_build_term(t, ctx) for t in spec.get("terms", [])]
    torques = [SphereTorque(ctx.need_maps("torques"), tq["sphere"], ctx.num(tq["electric_field"]))
               for tq in spec.get("torques", []) or []]
    return LLG(terms=terms, gamma=_build_coefficient(spec.get("gamma", 1.0), "gamma", ctx),
               damping=_build_coefficient(spec.get("damping", 0.0), "damping", ctx), magnitude=ctx.magnitude,
               torques=torques, description=str(spec.get("description", "")))
