"""Up-front checks of the ``llg`` config section: everything the JSON schema cannot say.

The schema (``workflow/schemas/config.schema.yaml``) has already checked the keys of every
sub-section (unknown keys are errors), the keys allowed for each term kind, types, vector
lengths and ranges, and filled in the defaults.  :func:`check_llg` then checks what needs values:

* every number under ``llg`` is finite (YAML's ``.inf`` and ``.nan`` are numbers); no key or
  string holds a control character (``model.description`` may hold newlines and tabs);
* ``model.parameters`` are constants (numbers or expressions of ``pi``);
  ``model.magnitude`` is a constant > 0;
* axis and parameter names are not function names or ``pi``, and no axis is also a model
  parameter; axis values are finite;
* every expression is parsed with size limits (``magcore.llg._util.parse_expression``: at
  most 1000 characters, 300 syntax-tree nodes, 100 levels) and evaluated on the sweep grid:
  all grid points when the grid has at most ``MAX_CHECK_POINTS`` (20 000), otherwise a sub-grid
  that keeps each axis' smallest and largest values and evenly spaced values in between
  (halving the longest axis until the sub-grid fits).  Division by zero, overflow, complex or
  non-finite results, unknown names and syntax errors are errors naming the key and, for a
  non-finite value, the grid point;
* vectors that are normalised (term axes, ``initial.m``, ``minima``) are non-zero at every
  checked point; electric fields have at most ``n_field`` components (the model's k directions);
  terms and torques that leave out ``electric_field`` and gamma/damping with
  ``electric_field: study`` take the study's field
  (:func:`magcore.llg.model.resolve_electric_fields`), which then must be given;
* ``initial`` is either {theta, phi} or {m}; ``record`` names existing axes and values on the
  axis grids (to 1e-9 relative; the sweep itself would take the nearest grid point).

Errors are :class:`SpecError` with a one-line message that starts with the dotted key.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ._util import CONSTANTS, FUNCTIONS, evaluate, expression_names, parse_expression, short
from .model import resolve_electric_fields

MAX_CHECK_POINTS = 20_000


class SpecError(ValueError):
    """A bad ``llg`` section; the message starts with the dotted key."""


def _fmt(x: float) -> str:
    return f"{float(x):.6g}"


def _join(values, limit: int = 8) -> str:
    values = [_fmt(v) for v in values]
    return ", ".join(values[:limit]) + (f", ... ({len(values)} values)" if len(values) > limit else "")


def check_finite_numbers(node, key: str = "llg") -> None:
    """Every float in a nested config structure is finite."""
    if isinstance(node, Mapping):
        for name, sub in node.items():
            check_finite_numbers(sub, f"{key}.{name}")
    elif isinstance(node, (list, tuple)):
        for i, sub in enumerate(node):
            check_finite_numbers(sub, f"{key}.{i}")
    elif isinstance(node, float) and not np.isfinite(node):
        raise SpecError(f"{key} = {node!r}: must be a finite number")


def check_strings(node, key: str = "llg") -> None:
    """No control characters (newlines, NUL, escapes) in the keys and strings of the section:
    they become paths, coordinate values, attributes and expressions.  Only the free text
    ``llg.model.description`` may hold newlines and tabs."""
    if isinstance(node, Mapping):
        for name, sub in node.items():
            if isinstance(name, str) and any(ord(c) < 32 or ord(c) == 127 for c in name):
                raise SpecError(f"{key}: key {short(name)} contains a control character")
            check_strings(sub, f"{key}.{name}")
    elif isinstance(node, (list, tuple)):
        for i, sub in enumerate(node):
            check_strings(sub, f"{key}.{i}")
    elif isinstance(node, str):
        allowed = "\n\t" if key == "llg.model.description" else ""
        if any((ord(c) < 32 or ord(c) == 127) and c not in allowed for c in node):
            raise SpecError(f"{key} = {short(node)}: contains a control character")


def check_expression(expr: str, key: str, names: Mapping[str, Any]) -> np.ndarray:
    """Evaluate one expression on the checked points (``names``: name -> value or (n,) values).

    The static checks run first, so that nothing large is ever evaluated."""
    try:
        parse_expression(expr)
    except ValueError as exc:
        raise SpecError(f"{key}: {exc}") from None
    unknown = [n for n in expression_names(expr) if n not in names and n not in CONSTANTS]
    if unknown:
        known = sorted(set(names) | set(CONSTANTS))
        raise SpecError(f"{key}: unknown name {unknown[0]!r} in expression {short(expr)}; known: "
                        f"{', '.join(known)}")
    try:
        with np.errstate(all="ignore"):
            value = evaluate(expr, names)
    except ZeroDivisionError:
        raise SpecError(f"{key}: expression {short(expr)} divides by zero") from None
    except OverflowError:
        raise SpecError(f"{key}: expression {short(expr)} overflows (the result is too large for a float)") from None
    except (ValueError, TypeError, ArithmeticError, MemoryError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"{key}: expression {short(expr)} cannot be evaluated: {reason}") from None
    if np.iscomplexobj(value):
        raise SpecError(f"{key}: expression {short(expr)} gives a complex number")
    value = np.asarray(value, dtype=float)
    bad = ~np.isfinite(value)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        shown = float(value.ravel()[first])
        where = [f"{n}={_fmt(np.ravel(names[n])[first])}" for n in expression_names(expr)
                 if n in names and np.size(names[n]) > 1]
        at = f" at {', '.join(where)}" if where else ""
        raise SpecError(f"{key}: expression {short(expr)} is not finite ({shown}){at}")
    return value


def _scalar(value, key: str, names: Mapping[str, Any]) -> np.ndarray:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"{key} = {value!r}: must be a number or an expression")
    if isinstance(value, str):
        return check_expression(value, key, names)
    return np.asarray(float(value))


def _vector(value, key: str, names: Mapping[str, Any], *, length: int | None = 3, nonzero: bool = False,
            max_length: int | None = None) -> np.ndarray:
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{key} = {value!r}: must be a list of numbers or expressions")
    if length is not None and len(value) != length:
        raise SpecError(f"{key}: must have {length} entries, got {len(value)}")
    if max_length is not None and len(value) > max_length:
        raise SpecError(f"{key}: has {len(value)} components, but the model has {max_length} k direction(s)")
    parts = [_scalar(v, f"{key}.{i}", names) for i, v in enumerate(value)]
    vec = np.stack(np.broadcast_arrays(*parts), axis=-1)
    if nonzero:
        zero = np.linalg.norm(vec.reshape(-1, vec.shape[-1]), axis=-1) == 0
        if zero.any():
            first = int(np.flatnonzero(zero)[0])
            where = [f"{n}={_fmt(np.ravel(v)[first])}" for n, v in names.items() if np.size(v) > 1]
            at = f" at {', '.join(where)}" if where and vec.ndim > 1 else ""
            raise SpecError(f"{key}: must be a non-zero vector (it is normalised), got zero{at}")
    return vec


def _tensor(value, key: str, names: Mapping[str, Any]) -> None:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise SpecError(f"{key}: a tensor must be 3 rows of 3 entries")
    for i, row in enumerate(value):
        _vector(row, f"{key}.{i}", names)


def axis_names_ok(axes: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
    for name in axes:
        if name in FUNCTIONS or name in CONSTANTS:
            raise SpecError(f"llg.axes.{name}: {name!r} is a function or constant of the expressions; "
                            "rename the axis")
        if name in parameters:
            raise SpecError(f"llg.axes.{name}: also a name in llg.model.parameters; rename one of them")


def axis_grid(axes: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Each axis' values (a list or {start, stop, num}), checked finite."""
    from .sweep import axis_values

    values = {}
    for name, spec in axes.items():
        try:
            with np.errstate(all="ignore"):
                v = axis_values(spec)
        except (ValueError, TypeError, KeyError) as exc:
            raise SpecError(f"llg.axes.{name}: {str(exc).splitlines()[0]}") from None
        if v.size == 0:
            raise SpecError(f"llg.axes.{name}: has no values")
        if not np.all(np.isfinite(v)):
            raise SpecError(f"llg.axes.{name}: values must be finite")
        values[name] = v
    return values


def check_points(values: Mapping[str, np.ndarray], limit: int = MAX_CHECK_POINTS) -> dict[str, np.ndarray]:
    """The grid points on which expressions are checked, name -> (n,) values: the full outer
    product when it has at most ``limit`` points, otherwise each axis keeps its smallest and
    largest values and evenly spaced values in between, the longest axis halved until the
    product fits."""
    names = list(values)
    counts = [len(values[n]) for n in names]
    while int(np.prod(counts)) > limit and max(counts) > 1:
        i = int(np.argmax(counts))
        counts[i] = max(1, counts[i] // 2)
    subsets = []
    for name, count in zip(names, counts):
        v = values[name]
        if count >= len(v):
            subsets.append(v)
            continue
        order = np.sort(v)
        keep = order[np.unique(np.linspace(0, len(v) - 1, count).round().astype(int))]
        subsets.append(keep if count > 1 else order[:1])
    grids = np.meshgrid(*subsets, indexing="ij")
    return {n: g.ravel() for n, g in zip(names, grids)}


def check_llg(llg: Mapping[str, Any], *, n_field: int | None = None, electric_field=None,
              max_points: int = MAX_CHECK_POINTS) -> dict[str, np.ndarray]:
    """Check a schema-validated ``llg`` section (defaults filled in); returns the axis values.

    ``n_field``: the number of electric-field components the sphere maps have (the model's k
    directions), to check the ``electric_field`` lists; None skips that check.
    ``electric_field``: the study's field, for the terms that take it
    (:func:`magcore.llg.model.resolve_electric_fields`)."""
    check_finite_numbers(dict(llg))
    check_strings(dict(llg))
    try:
        model = resolve_electric_fields(llg.get("model") or {}, electric_field)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    parameters = {}
    for name, v in (model.get("parameters") or {}).items():
        if name in FUNCTIONS or name in CONSTANTS:
            raise SpecError(f"llg.model.parameters.{name}: {name!r} is a function or constant of the expressions; "
                            "rename the parameter")
        parameters[name] = _scalar(v, f"llg.model.parameters.{name}", {})
    mag = model.get("magnitude")
    if mag is not None:
        try:
            M = float(_scalar(mag, "llg.model.magnitude", parameters))
        except SpecError as exc:
            raise SpecError(f"{exc} (a constant: numbers, pi and llg.model.parameters)") from None
        if not M > 0:
            raise SpecError(f"llg.model.magnitude = {mag!r}: must be > 0")
    axes = llg.get("axes") or {}
    axis_names_ok(axes, parameters)
    values = axis_grid(axes)
    names = {**parameters, **check_points(values, max_points)}

    for coef in ("gamma", "damping"):
        v = model.get(coef, 1.0 if coef == "gamma" else 0.0)
        key = f"llg.model.{coef}"
        if isinstance(v, Mapping):
            if v.get("electric_field") is not None:
                _vector(v["electric_field"], f"{key}.electric_field", names, length=None, max_length=n_field)
        elif isinstance(v, (list, tuple)):
            _tensor(v, key, names)
        else:
            _scalar(v, key, names)

    for i, term in enumerate(model.get("terms") or []):
        key = f"llg.model.terms.{i}"
        kind = term.get("kind")
        for name in ("K", "K_ti", "B", "strength"):
            if name in term:
                _scalar(term[name], f"{key}.{name}", names)
        for name in ("axis", "normal"):
            if name in term:
                _vector(term[name], f"{key}.{name}", names, nonzero=True)
        for name in ("field", "direction"):
            if name in term:
                _vector(term[name], f"{key}.{name}", names)
        if "electric_field" in term:
            _vector(term["electric_field"], f"{key}.electric_field", names, length=None, max_length=n_field)
        if kind == "faraday" and str(term.get("form", "2.41")) not in ("2.41", "2.45"):
            raise SpecError(f"{key}.form = {term['form']!r} is not allowed; allowed: 2.41, 2.45")
    for i, tq in enumerate(model.get("torques") or []):
        _vector(tq["electric_field"], f"llg.model.torques.{i}.electric_field", names, length=None,
                max_length=n_field)

    initial = llg.get("initial") or {}
    if initial.get("m") is not None:
        for angle in ("theta", "phi"):
            if initial.get(angle) is not None:
                raise SpecError(f"llg.initial.{angle}: give either m or theta and phi, not both")
        _vector(initial["m"], "llg.initial.m", names, nonzero=True)
    else:
        for angle in ("theta", "phi"):
            if initial.get(angle) is None:
                raise SpecError(f"llg.initial.{angle}: missing; give theta and phi (angles, rad) or m (a vector)")
            _scalar(initial[angle], f"llg.initial.{angle}", names)

    for i, vec in enumerate(llg.get("minima") or []):
        _vector(vec, f"llg.minima.{i}", names, nonzero=True)

    for rname, point in (llg.get("record") or {}).items():
        for axis, value in (point or {}).items():
            key = f"llg.record.{rname}.{axis}"
            if axis not in values:
                raise SpecError(f"{key}: no such axis; axes: {', '.join(values)}")
            v = values[axis]
            nearest = v[int(np.argmin(np.abs(v - float(value))))]
            tol = 1e-9 * max(1.0, float(np.max(np.abs(v))))
            if abs(nearest - float(value)) > tol:
                raise SpecError(f"{key} = {value!r} is not on the axis grid (nearest {_fmt(nearest)}); "
                                f"values: {_join(v)}")
    return values
