"""Quadrature meshes in k-space with weights that include the measure [dk] = d^d k / (2 pi)^d.

A mesh is a set of points and weights; sum(weights * integrand) approximates the integral.
Continuum models integrate over a disc |k - k0(m)| < k_c: the radial rule is composite
Gauss-Legendre on geometrically graded panels (resolving structure from k_c down to
k_c * grading**radial_panels, e.g. a small gap near the Dirac point), the angular rule is the
trapezoid rule, which is spectrally accurate for periodic integrands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KMesh:
    """Points ``(N, dim)`` (relative to the cutoff centre for continuum models) and weights ``(N,)``."""

    points: np.ndarray
    weights: np.ndarray

    @property
    def size(self) -> int:
        return self.weights.size

    def blocks(self, block_size: int):
        """Yield ``(points, weights)`` slices of at most ``block_size`` points."""
        if block_size <= 0:
            raise ValueError(f"block_size must be positive, got {block_size}")
        for start in range(0, self.size, block_size):
            yield self.points[start : start + block_size], self.weights[start : start + block_size]


def graded_radial_rule(k_cutoff: float, panels: int, order: int, grading: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, k_c]: Gauss-Legendre of ``order`` on ``panels + 1`` panels
    with edges 0, k_c g^panels, ..., k_c g, k_c (g = ``grading`` in (0, 1))."""
    if k_cutoff <= 0 or panels < 0 or order < 1 or not 0 < grading < 1:
        raise ValueError(
            f"bad radial rule: k_cutoff={k_cutoff} (> 0), panels={panels} (>= 0), "
            f"order={order} (>= 1), grading={grading} (in (0, 1))"
        )
    edges = np.concatenate([[0.0], k_cutoff * grading ** np.arange(panels, -1, -1)])
    x, w = np.polynomial.legendre.leggauss(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    weights = 0.5 * (hi - lo) * w
    return nodes.ravel(), weights.ravel()


def disc_mesh(k_cutoff: float, radial_panels: int, radial_order: int, grading: float, n_angle: int) -> KMesh:
    """2D disc |q| < k_c in polar coordinates; weights q dq dphi / (2 pi)^2."""
    if n_angle < 1:
        raise ValueError(f"n_angle must be >= 1, got {n_angle}")
    q, wq = graded_radial_rule(k_cutoff, radial_panels, radial_order, grading)
    ang = 2 * np.pi * (np.arange(n_angle) + 0.5) / n_angle
    Q, A = np.meshgrid(q, ang, indexing="ij")
    W = (wq * q)[:, None] * (2 * np.pi / n_angle) / (2 * np.pi) ** 2 * np.ones_like(A)
    points = np.stack([Q * np.cos(A), Q * np.sin(A)], axis=-1).reshape(-1, 2)
    return KMesh(points=points, weights=W.ravel())


def segment_mesh(k_cutoff: float, radial_panels: int, radial_order: int, grading: float) -> KMesh:
    """1D segment |q| < k_c, graded towards q = 0 from both sides; weights dq / (2 pi)."""
    q, wq = graded_radial_rule(k_cutoff, radial_panels, radial_order, grading)
    points = np.concatenate([-q[::-1], q])[:, None]
    weights = np.concatenate([wq[::-1], wq]) / (2 * np.pi)
    return KMesh(points=points, weights=weights)


def continuum_mesh(dim: int, **rule) -> KMesh:
    """The continuum mesh for a ``dim``-dimensional model (1: segment, 2: disc)."""
    if dim == 1:
        rule = {k: v for k, v in rule.items() if k != "n_angle"}
        return segment_mesh(**rule)
    if dim == 2:
        return disc_mesh(**rule)
    raise ValueError(f"no continuum mesh for dimension {dim}")


def bz_mesh(reciprocal_vectors: np.ndarray, n_k: int | tuple[int, ...], shift: float = 0.5) -> KMesh:
    """Uniform Monkhorst-Pack mesh of the Brillouin zone.

    k = sum_i (n_i + shift) / N_i b_i, n_i = 0..N_i-1, with ``reciprocal_vectors`` b_i as rows.
    Weights are 1 / (N V_cell) with V_cell = (2 pi)^d / |det b|, so that sum(weights) equals
    int_BZ d^d k / (2 pi)^d = 1 / V_cell.  The rule is spectrally accurate for smooth periodic
    integrands; ``shift = 0.5`` keeps points off the zone boundary and the origin.
    """
    b = np.atleast_2d(np.asarray(reciprocal_vectors, dtype=float))
    dim = b.shape[0]
    n = (n_k,) * dim if np.isscalar(n_k) else tuple(n_k)
    if len(n) != dim or any(int(x) < 1 for x in n):
        raise ValueError(f"n_k must be {dim} positive integers, got {n_k}")
    axes = [(np.arange(int(x)) + shift) / int(x) for x in n]
    frac = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    v_cell = (2 * np.pi) ** dim / abs(np.linalg.det(b))
    weights = np.full(len(frac), 1.0 / (len(frac) * v_cell))
    return KMesh(points=frac @ b, weights=weights)


def k_center_jacobian(model, m: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """d k0_j / d m_i of the cutoff centre, shape (P, 3, dim), by central differences
    (exact to round-off for the Dirac models, whose k0(m) is linear)."""
    eye = np.eye(3) * h
    return np.stack([(model.k_center(m + eye[i]) - model.k_center(m - eye[i])) / (2 * h) for i in range(3)], axis=1)
