"""Small shared helpers: batched parameters, safe expressions, vector algebra, frames."""

from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

import numpy as np

# ----------------------------------------------------------------------------- batched parameters


def batched(x, tail_ndim: int, name: str = "parameter") -> np.ndarray:
    """``x`` as a float array with a leading batch axis: scalars/vectors/tensors shared by the
    whole batch get a batch axis of length 1, per-trajectory values keep theirs.

    ``tail_ndim`` is 0 for scalars, 1 for vectors (3,), 2 for tensors (3, 3).
    """
    a = np.asarray(x, dtype=float)
    if a.ndim == tail_ndim:
        a = a[None]
    if a.ndim != tail_ndim + 1:
        raise ValueError(f"{name}: expected {tail_ndim} trailing dimensions (plus an optional batch axis), "
                         f"got shape {a.shape}")
    if tail_ndim and a.shape[1:] != (3,) * tail_ndim:
        raise ValueError(f"{name}: trailing shape must be {(3,) * tail_ndim}, got {a.shape[1:]}")
    return a


def take(a: np.ndarray, idx) -> np.ndarray:
    """Rows ``idx`` of a batched parameter (a shared parameter, batch length 1, is returned as is
    and broadcasts)."""
    return a if a.shape[0] == 1 else a[idx]


def unit(v: np.ndarray, name: str = "vector") -> np.ndarray:
    v = np.asarray(v, dtype=float)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(n == 0):
        raise ValueError(f"{name} must be non-zero")
    return v / n


# ----------------------------------------------------------------------------- vector algebra


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis (faster than np.cross for small trailing dims)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape))
    np.subtract(a1 * b2, a2 * b1, out=out[..., 0])
    np.subtract(a2 * b0, a0 * b2, out=out[..., 1])
    np.subtract(a0 * b1, a1 * b0, out=out[..., 2])
    return out


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between unit vectors, accurate for small and large angles."""
    return np.arctan2(np.linalg.norm(cross(a, b), axis=-1), dot(a, b))


def tangent_frame(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal u, w with (u, w, m) right-handed, for unit vectors m (...,3); smooth except
    where the helper axis switches (it is only used as a local basis)."""
    helper = np.zeros_like(m)
    ax = np.argmin(np.abs(m), axis=-1)
    np.put_along_axis(helper, ax[..., None], 1.0, axis=-1)
    u = cross(helper, m)
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    return u, cross(m, u)


# ----------------------------------------------------------------------------- angle frames

# (e1, e3): polar axis e3, phi measured from e1 towards e2 = e3 x e1
FRAMES = {
    "z": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),  # global frame of magcore.sphere
    "y": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),  # dissertation sec. 2.4: polar axis y, phi from z to x
    "x": ((0.0, 1.0, 0.0), (1.0, 0.0, 0.0)),
}


def frame_vectors(polar_axis: str = "z") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e1, e2, e3) of a named angle frame: m = sin t cos p e1 + sin t sin p e2 + cos t e3.

    ``"z"``: the global frame (m = (sin t cos p, sin t sin p, cos t)); ``"y"``: the frame of
    dissertation section 2.4, m = (sin t sin p, cos t, sin t cos p) (polar axis y, phi from z
    towards x); ``"x"``: polar axis x, phi from y towards z.
    """
    try:
        e1, e3 = (np.array(v) for v in FRAMES[polar_axis])
    except KeyError:
        raise ValueError(f"unknown polar axis {polar_axis!r}; choose one of {sorted(FRAMES)}") from None
    return e1, np.cross(e3, e1), e3


def from_angles(theta, phi, polar_axis: str = "z") -> np.ndarray:
    """Unit vectors from angles in a named frame (see :func:`frame_vectors`), shape (..., 3)."""
    e1, e2, e3 = frame_vectors(polar_axis)
    t, p = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    st = np.sin(t)[..., None]
    return st * np.cos(p)[..., None] * e1 + st * np.sin(p)[..., None] * e2 + np.cos(t)[..., None] * e3


def to_angles(m: np.ndarray, polar_axis: str = "z") -> tuple[np.ndarray, np.ndarray]:
    """(theta in [0, pi], phi in [0, 2 pi)) of unit vectors in a named frame."""
    e1, e2, e3 = frame_vectors(polar_axis)
    m = np.asarray(m, float)
    x, y, z = m @ e1, m @ e2, m @ e3
    return np.arctan2(np.hypot(x, y), z), np.mod(np.arctan2(y, x), 2 * np.pi)


# ----------------------------------------------------------------------------- safe expressions

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.Mod: operator.mod}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "sqrt": np.sqrt, "exp": np.exp, "log": np.log,
             "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan, "arctan2": np.arctan2,
             "abs": np.abs, "sign": np.sign, "minimum": np.minimum, "maximum": np.maximum}
CONSTANTS = {"pi": np.pi}
ARITY = {name: 2 if name in ("arctan2", "minimum", "maximum") else 1 for name in FUNCTIONS}

# Limits checked before an expression is evaluated: they keep a parse and an evaluation short and
# small (a config expression is a formula of a few terms).  Exponentiation cannot run away: every
# constant is a float before any arithmetic, so "9**9**9**9" overflows at once instead of building
# a huge integer.
MAX_EXPRESSION_LENGTH = 1000
MAX_EXPRESSION_NODES = 300
MAX_EXPRESSION_DEPTH = 100
_STRUCTURE = (ast.Expression, ast.Load, ast.operator, ast.unaryop)


def short(expr, limit: int = 60) -> str:
    """``repr`` of an expression, cut to ``limit`` characters for messages."""
    text = str(expr)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_expression(expr: str) -> ast.Expression:
    """The syntax tree of an expression after the checks that need no values: length, syntax,
    allowed constructs (numbers, names, + - * / ** %, unary +/-, calls of ``FUNCTIONS`` with
    their number of arguments), size and depth.  Raises ValueError with a one-line message."""
    text = str(expr)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"expression {short(text)} has {len(text)} characters; at most "
                         f"{MAX_EXPRESSION_LENGTH} are allowed")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise ValueError(f"cannot parse expression {short(text)}: {reason.splitlines()[0]}") from None
    n_nodes = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        n_nodes += 1
        if n_nodes > MAX_EXPRESSION_NODES:
            raise ValueError(f"expression {short(text)} is too large (more than {MAX_EXPRESSION_NODES} "
                             "syntax-tree nodes)")
        if depth > MAX_EXPRESSION_DEPTH:
            raise ValueError(f"expression {short(text)} is nested too deeply (more than "
                             f"{MAX_EXPRESSION_DEPTH} levels)")
        _check_node(node, text)
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        stack.extend((child, depth + 1) for child in children)
    return tree


def _check_node(node: ast.AST, text: str) -> None:
    """Raise ValueError unless ``node`` of the expression ``text`` is an allowed construct: a
    finite number, a name, an allowed operator, or a call of one of ``FUNCTIONS`` with its
    number of positional arguments."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"unsupported constant {node.value!r} in expression {short(text)}")
        try:
            float(node.value)
        except OverflowError:
            raise ValueError(f"number too large in expression {short(text)}") from None
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ValueError(f"unsupported operator {type(node.op).__name__} in expression {short(text)}")
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ValueError(f"unsupported operator {type(node.op).__name__} in expression {short(text)}")
    elif isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
            raise ValueError(f"unsupported call in expression {short(text)}; functions: "
                             f"{', '.join(FUNCTIONS)}")
        if len(node.args) != ARITY[node.func.id] or any(isinstance(a, ast.Starred) for a in node.args):
            raise ValueError(f"{node.func.id} takes {ARITY[node.func.id]} argument(s) in expression "
                             f"{short(text)}")
    elif not isinstance(node, (ast.Name,) + _STRUCTURE):
        raise ValueError(f"unsupported syntax {type(node).__name__} in expression {short(text)}")


def expression_names(expr: str) -> list[str]:
    """Names an expression refers to (not the functions), in order of appearance."""
    tree = parse_expression(expr)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    seen = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    return list(dict.fromkeys(seen))


def evaluate(expr: str, names: Mapping[str, Any]) -> np.ndarray:
    """Evaluate an arithmetic expression of named parameters (sweep axes, constants), e.g.
    ``"2*alpha"``, ``"0.3*pi"``, ``"sqrt(1 - (H/4)**2)"``.  Only numbers, names, + - * / ** %,
    unary minus and the functions in ``FUNCTIONS`` are allowed (no attribute access, no calls
    of anything else)."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return np.asarray(names[node.id], dtype=float)
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise ValueError(f"unknown name {node.id!r} in expression {expr!r} (known: {sorted(names)})")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                and not node.keywords):
            return FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(f"unsupported syntax in expression {expr!r}: {ast.dump(node)[:60]}")

    return ev(parse_expression(expr))


def numeric(value, names: Mapping[str, Any] | None = None) -> np.ndarray:
    """A numeric config value: a number, an expression string, or (nested) lists of them; lists
    become the last axis (so ``[0, "H", 0]`` with H of shape (N,) gives (N, 3))."""
    names = names or {}
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float, np.number)):
        return np.asarray(float(value))
    if isinstance(value, str):
        return np.asarray(evaluate(value, names), dtype=float)
    if isinstance(value, np.ndarray):
        return value.astype(float)
    if isinstance(value, (list, tuple)):
        items = [numeric(v, names) for v in value]
        return np.stack(np.broadcast_arrays(*items), axis=-1)
    raise ValueError(f"expected a number, expression or list, got {value!r}")
