"""Units of the stores: a pint registry that reads every ``units`` attribute right, the
spelling the stores use, and the typeset form for figure labels.

Every variable and coordinate of a magcore store has a ``units`` attribute.  It is written
(:func:`canonical`) the way pint and UDUNITS read SI units: factors joined by ``*``, integer
powers as ``**n``, compound units simplified (``eV Angstrom^-2 / (eV Angstrom^-1)`` is stored
as ``angstrom**-1``), ``1`` for a dimensionless quantity, e.g. ``eV``, ``angstrom``,
``eV * angstrom**-2``, ``hbar * angstrom**-2``, ``e**2 * planck_constant**-1``.

The model units are not SI units, and a plain pint registry reads three of them as something
else (``a`` as the year, ``t`` as the tonne, ``eps0`` as the vacuum permittivity).  Quantify
magcore stores with :data:`registry`, which defines

* ``eps0``: the energy unit of the continuum Dirac models (``ti_surface``, ``ti_edge``; eps0 =
  hbar v / a at v = 1), a base unit of its own dimension ``[model_energy]``: it has no value
  in eV;
* ``t``: the hopping energy of the validation lattice models (``qwz``, ``dirac4d``), dimension
  ``[model_hopping]``;
* ``a``: the lattice constant of those models, dimension ``[model_length]``;
* ``Angstrom`` (as stores before this spelling wrote it) = ``angstrom``, and ``h`` = the Planck
  constant (``e^2/h``), not the hour;

and otherwise pint's own units (``eV``, ``angstrom``, ``hbar``, ``e`` the elementary charge,
``planck_constant``, ``S``, ``cm``, ``rad``)::

    import magcore.units, xarray as xr, pint_xarray
    ds = xr.open_zarr("results/wte2/sphere.zarr").pint.quantify(unit_registry=magcore.units.registry)

:func:`mathtext` gives the typeset form of a units string for a matplotlib label (Å, ħ,
superscript exponents, one fraction bar).
"""

from __future__ import annotations

import functools
from typing import Any

#: Definitions added to pint's defaults (see the module docstring).
DEFINITIONS = (
    "eps0 = [model_energy]",
    "t = [model_hopping]",
    "a = [model_length]",
    "Angstrom = angstrom",
    "h = planck_constant",
)

#: How a name is spelled in a store (names not listed are kept as written, if pint knows them).
SPELLING = {
    "Angstrom": "angstrom",
    "Å": "angstrom",
    "ångström": "angstrom",
    "h": "planck_constant",
}

#: The mathtext of the names a store uses (:func:`mathtext`); others are set upright as written.
TYPESET = {
    "angstrom": r"\AA",
    "hbar": r"\hbar",
    "planck_constant": "h",
    "eps0": r"\varepsilon_0",
    "a": "a",
    "t": "t",
    "e": "e",
}


@functools.lru_cache(maxsize=1)
def get_registry():
    """The pint registry that reads every ``units`` attribute of a magcore store (module
    docstring), made on first use (importing pint and building it takes about a second); also
    ``magcore.units.registry``."""
    import pint

    ureg = pint.UnitRegistry(on_redefinition="ignore", force_ndarray_like=True)
    for line in DEFINITIONS:
        ureg.define(line)
    return ureg


def __getattr__(name: str) -> Any:
    if name == "registry":  # magcore.units.registry, built when first asked for
        return get_registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse(units: str):
    """The pint unit of a ``units`` attribute, in :data:`registry`; ``ValueError`` if it does
    not parse."""
    import pint

    try:
        return get_registry().Unit(_pint_text(units))
    except (pint.errors.PintError, AttributeError, TypeError, SyntaxError, AssertionError) as exc:
        raise ValueError(f"units {units!r} do not parse with magcore.units.registry: {exc}") from None


def _pint_text(units: str) -> str:
    text = str(units).strip()
    return "" if text in ("", "1") else text


def _factors(units: str) -> tuple[float, dict[str, float]]:
    """(scale, {name: power}) of a units expression, names as written, powers summed and
    zero powers left out; in the order of first appearance."""
    text = _pint_text(units)
    if not text:
        return 1.0, {}
    from pint.util import ParserHelper

    helper = ParserHelper.from_string(text)
    powers: dict[str, float] = {}
    for name, power in helper.items():
        name = SPELLING.get(name, name)
        powers[name] = powers.get(name, 0) + power
    return float(helper.scale), {n: p for n, p in powers.items() if p != 0}


def _power(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else repr(float(p))


@functools.lru_cache(maxsize=1024)
def canonical(units: str) -> str:
    """The store spelling of ``units`` (module docstring): pint/UDUNITS syntax, model units
    and pint's names, compound units simplified by cancelling equal names.  ``ValueError`` if a
    name is unknown to :data:`registry`.

    >>> canonical("eV Angstrom^-2 / (eV Angstrom^-1)")
    'angstrom**-1'
    >>> canonical("e^2/h")
    'e**2 * planck_constant**-1'
    """
    scale, powers = _factors(units)
    for name in powers:
        try:
            parse(name)
        except ValueError:
            raise ValueError(f"units {units!r} do not parse with magcore.units.registry: {name!r} is not a unit "
                             "it defines") from None
    parts = [name if p == 1 else f"{name}**{_power(p)}" for name, p in powers.items()]
    if scale != 1.0:
        parts.insert(0, repr(scale))
    text = " * ".join(parts) or "1"
    parse(text)
    return text


def same_units(a: str, b: str) -> bool:
    """Whether two units strings mean the same unit (in :data:`registry`)."""
    reg = get_registry()
    return reg.Quantity(1, parse(a)) == reg.Quantity(1, parse(b))


def _mathtext_factor(name: str, power: float) -> str:
    base = TYPESET.get(name)
    if base is None:
        base = r"\mathrm{" + name.replace("_", r"\_") + "}"
    return base if power == 1 else f"{base}^{{{_power(power)}}}"


def mathtext(units: str, *, dimensionless: str = "1") -> str:
    """The typeset form of a units string for a matplotlib label, in ``$...$``: Å, ħ, eps0 as
    epsilon_0, exponents as superscripts, the negative powers under one fraction bar when there
    is a numerator (``hbar * angstrom**-1 * eV**-1`` -> ħ/(eV Å)).  A dimensionless unit gives
    ``dimensionless`` (default "1"; "" to leave the unit out).

    >>> mathtext("eV Angstrom^-2 / (eV Angstrom^-1)")
    '$\\\\AA^{-1}$'
    """
    scale, powers = _factors(units)
    if not powers and scale == 1.0:
        return dimensionless
    num = [_mathtext_factor(n, p) for n, p in powers.items() if p > 0]
    den = [(n, -p) for n, p in powers.items() if p < 0]
    if scale != 1.0:
        num.insert(0, f"{scale:g}")
    sep = r"\,"
    if not num:
        body = sep.join(_mathtext_factor(n, -p) for n, p in den)
    elif not den:
        body = sep.join(num)
    else:
        below = sep.join(_mathtext_factor(n, p) for n, p in den)
        body = sep.join(num) + "/" + (f"({below})" if len(den) > 1 else below)
    return f"${body}$"


def label(text: str, units: str) -> str:
    """An axis or colour-bar label: ``text [units]`` with the units typeset (:func:`mathtext`);
    ``text`` alone for a dimensionless quantity."""
    typeset = mathtext(units, dimensionless="")
    return f"{text} [{typeset}]" if typeset else text
