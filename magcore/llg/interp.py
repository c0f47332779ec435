"""Smooth interpolation of tabulated maps over the magnetization sphere.

Tabulated maps (``sphere.zarr``, :func:`magcore.sphere.sphere_map`) live on a (theta, phi)
grid with theta in [0, pi] including both poles and phi in [0, 2 pi) evenly spaced.  Each map,
and each Cartesian component of a vector or tensor map, is a scalar function on the sphere.

Method: the *double Fourier sphere*.  f(theta, phi) on [0, pi] x [0, 2 pi) is extended to
theta in [pi, 2 pi) by f(theta, phi) = f(2 pi - theta, phi + pi) (the same point of the
sphere, reached through the pole).  For a smooth f on the sphere the extension is smooth and
2 pi-periodic in both angles, so a periodic bicubic B-spline in (theta, phi) interpolates it
with O(h^4) error everywhere, including across the poles (no pole singularity, no one-sided
stencils).  The spline coefficients come from one FFT deconvolution of the uniform grid.
On the grid row theta = 0 (and pi) all values are equal (one point of the sphere), so the
interpolant is single-valued at the poles.  A phi grid of odd length is shifted by pi
spectrally (trigonometric interpolation) to build the extension.

Effective field from a free energy: H = -(1/|m|) grad_sphere G, the tangential gradient of the
interpolated G, by central differences along two tangent great circles through m (step
``fd_step``); this has no 1/sin(theta) and works at the poles.  Interpolating the stored
Cartesian ``effective_field`` directly is more accurate (O(h^4) against O(h^3) for the
gradient of the interpolant); both are measured in
``tests/physics/test_llg_sweep_and_interpolation.py``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import xarray as xr

from ._util import tangent_frame


def _check_grid(theta: np.ndarray, phi: np.ndarray) -> tuple[float, float]:
    nt, n_phi = len(theta), len(phi)
    if nt < 3 or n_phi < 4:
        raise ValueError(f"sphere interpolation needs n_theta >= 3 and n_phi >= 4, got {nt}, {n_phi}")
    dt = np.pi / (nt - 1)
    dp = 2 * np.pi / n_phi
    if not np.allclose(theta, dt * np.arange(nt), atol=1e-9):
        raise ValueError("theta grid must be uniform on [0, pi] including both poles")
    if not np.allclose(phi, dp * np.arange(n_phi), atol=1e-9):
        raise ValueError("phi grid must be uniform on [0, 2 pi) starting at 0")
    return dt, dp


def _bspline_weights(u: np.ndarray, n: int, deriv: bool = False):
    """Indices (P, 4) and weights (P, 4) of the uniform periodic cubic B-spline at positions
    u (in grid units); with ``deriv`` the weights of d/du."""
    i = np.floor(u).astype(np.int64)
    t = u - i
    idx = np.mod(i[:, None] + np.arange(-1, 3)[None, :], n)
    if not deriv:
        t2, t3 = t * t, t * t * t
        w = np.stack([(1 - t) ** 3, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3], axis=-1) / 6.0
    else:
        t2 = t * t
        w = np.stack([-(1 - t) ** 2, 3 * t2 - 4 * t, -3 * t2 + 2 * t + 1, t2], axis=-1) / 2.0
    return idx, w


class SphereInterpolator:
    """Periodic bicubic spline on the double Fourier sphere for maps ``values`` of shape
    (n_theta, n_phi, *channels) on the grid of :func:`magcore.sphere.sphere_grid`.

    ``interp(m)`` returns (P, *channels) at unit vectors m (P, 3); ``interp.at(theta, phi)``
    at angles.  NaN values are not allowed (fill them first, see :func:`fill_nan`).
    """

    def __init__(self, theta, phi, values):
        theta = np.asarray(theta, float)
        phi = np.asarray(phi, float)
        values = np.asarray(values, float)
        self.dt, self.dp = _check_grid(theta, phi)
        nt, n_phi = len(theta), len(phi)
        if values.shape[:2] != (nt, n_phi):
            raise ValueError(f"values shape {values.shape} does not start with the grid shape {(nt, n_phi)}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values contain NaN or inf; fill them first (magcore.llg.interp.fill_nan)")
        self.channels = values.shape[2:]
        V = values.reshape(nt, n_phi, -1)
        if n_phi % 2 == 0:
            shifted = np.roll(V, -n_phi // 2, axis=1)  # value at phi + pi
        else:
            k = np.fft.fftfreq(n_phi, d=1.0 / n_phi)
            shifted = np.fft.ifft(np.fft.fft(V, axis=1) * np.exp(1j * np.pi * k)[None, :, None], axis=1).real
        ext = np.concatenate([V, shifted[nt - 2:0:-1]], axis=0)  # theta in [0, 2 pi)
        self.n_theta_ext, self.n_phi = ext.shape[0], n_phi
        lam_t = (2.0 + np.cos(2 * np.pi * np.arange(self.n_theta_ext) / self.n_theta_ext)) / 3.0
        lam_p = (2.0 + np.cos(2 * np.pi * np.arange(n_phi) / n_phi)) / 3.0
        F = np.fft.fft2(ext, axes=(0, 1)) / (lam_t[:, None, None] * lam_p[None, :, None])
        self.coef = np.fft.ifft2(F, axes=(0, 1)).real  # (2(nt-1), n_phi, C)

    def at(self, theta, phi, d_theta: bool = False, d_phi: bool = False) -> np.ndarray:
        theta = np.asarray(theta, float).ravel()
        phi = np.asarray(phi, float).ravel()
        it, wt = _bspline_weights(theta / self.dt, self.n_theta_ext, d_theta)
        ip, wp = _bspline_weights(np.mod(phi, 2 * np.pi) / self.dp, self.n_phi, d_phi)
        if d_theta:
            wt = wt / self.dt
        if d_phi:
            wp = wp / self.dp
        c = self.coef[it[:, :, None], ip[:, None, :]]  # (P, 4, 4, C)
        out = np.einsum("pa,pb,pabc->pc", wt, wp, c, optimize=False)
        return out.reshape((len(theta),) + self.channels)

    def __call__(self, m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, float)
        theta = np.arctan2(np.hypot(m[..., 0], m[..., 1]), m[..., 2])
        phi = np.arctan2(m[..., 1], m[..., 0])
        return self.at(theta, phi).reshape(m.shape[:-1] + self.channels)

    def tangential_gradient(self, m: np.ndarray, step: float = 1e-4) -> np.ndarray:
        """grad_sphere f at unit vectors m (P, 3) for a scalar map (one channel): central
        differences along the great circles through m in two tangent directions."""
        if self.channels not in ((), (1,)):
            raise ValueError("tangential_gradient needs a scalar map")
        u, w = tangent_frame(m)
        c, s = np.cos(step), np.sin(step)
        pts = np.concatenate([c * m + s * u, c * m - s * u, c * m + s * w, c * m - s * w])
        f = self(pts).reshape(4, len(m))
        return ((f[0] - f[1])[:, None] * u + (f[2] - f[3])[:, None] * w) / (2 * step)


def fill_nan(values: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Replace NaN by interpolation along theta on each meridian (e.g. the gap-closing equator of
    the TI surface, where ``sphere_map`` sets gamma to NaN): a cubic spline through the valid
    points of the meridian (linear with fewer than 4).  Raises if a whole meridian is NaN."""
    from scipy.interpolate import CubicSpline

    v = np.array(values, dtype=float, copy=True)
    flat = v.reshape(v.shape[0], -1)
    bad = ~np.isfinite(flat)
    for j in np.nonzero(bad.any(axis=0))[0]:
        ok = ~bad[:, j]
        if not ok.any():
            raise ValueError("a whole meridian of the map is NaN: cannot fill")
        if ok.sum() >= 4:
            flat[bad[:, j], j] = CubicSpline(theta[ok], flat[ok, j])(theta[bad[:, j]])
        else:
            flat[bad[:, j], j] = np.interp(theta[bad[:, j]], theta[ok], flat[ok, j])
    return flat.reshape(v.shape)


def vector_form(omega: np.ndarray) -> np.ndarray:
    """Omega_i = eps_ijk Omega_jk / 2 of antisymmetric tensors (..., 3, 3)."""
    return 0.5 * np.stack([omega[..., 1, 2] - omega[..., 2, 1], omega[..., 2, 0] - omega[..., 0, 2],
                           omega[..., 0, 1] - omega[..., 1, 0]], axis=-1)


class SphereMaps:
    """Interpolated chapter-2 maps of a sphere Dataset (the ``sphere.zarr`` layout of
    :func:`magcore.sphere.sphere_map`): variables ``free_energy`` (theta, phi),
    ``effective_field`` (theta, phi, component), ``gyromagnetic_ratio`` (theta, phi),
    ``damping`` (theta, phi, component, component2), ``field_induced_field`` (theta, phi,
    component, field), ``damping_E`` (theta, phi, field, component, component2),
    ``berry_curvature_mm_E`` (theta, phi, field, component, component2), and the torques
    ``torque_*`` (theta, phi, component, field).  Only the variables that are used are read.

    ``nan_policy``: ``"raise"`` (default) refuses maps with NaN (gap-closed points);
    ``"fill"`` fills them along meridians (:func:`fill_nan`) and records the count in
    ``self.filled``.
    """

    def __init__(self, ds: xr.Dataset, nan_policy: str = "raise", fd_step: float = 1e-4):
        if nan_policy not in ("raise", "fill"):
            raise ValueError(f"nan_policy must be 'raise' or 'fill', got {nan_policy!r}")
        self.ds = ds
        self.theta = np.asarray(ds["theta"].values, float)
        self.phi = np.asarray(ds["phi"].values, float)
        _check_grid(self.theta, self.phi)
        self.magnitude = float(ds.attrs.get("magnetization_magnitude", 1.0))
        self.nan_policy = nan_policy
        self.fd_step = fd_step
        self.filled: dict[str, int] = {}
        self._cache: dict[str, SphereInterpolator] = {}

    @classmethod
    def open(cls, path, **kwargs) -> "SphereMaps":
        return cls(xr.open_zarr(path), **kwargs)

    def _values(self, name: str, dims_after: tuple[str, ...]) -> np.ndarray:
        if name not in self.ds:
            raise KeyError(f"sphere dataset has no variable {name!r}")
        da = self.ds[name].transpose("theta", "phi", *dims_after)
        v = np.asarray(da.values, float)
        n_bad = int((~np.isfinite(v)).sum())
        if n_bad:
            if self.nan_policy == "raise":
                raise ValueError(f"{name} has {n_bad} NaN/inf values (gap-closed points?); "
                                 "use nan_policy='fill' to interpolate over them along meridians")
            v = fill_nan(v, self.theta)
            self.filled[name] = n_bad
        return v

    def interpolator(self, name: str, dims_after: tuple[str, ...] = ()) -> SphereInterpolator:
        if name not in self._cache:
            self._cache[name] = SphereInterpolator(self.theta, self.phi, self._values(name, dims_after))
        return self._cache[name]

    @property
    def n_field(self) -> int:
        return int(self.ds.sizes.get("field", 0))

    # scalar, vector and tensor maps at unit vectors m (P, 3)
    def free_energy(self, m):
        return self.interpolator("free_energy")(m)

    def field_from_free_energy(self, m):
        """H = -(1/|m|) grad_sphere G (eq. 2.12), tangential."""
        return -self.interpolator("free_energy").tangential_gradient(m, self.fd_step) / self.magnitude

    def effective_field(self, m):
        return self.interpolator("effective_field", ("component",))(m)

    def gyromagnetic_ratio(self, m):
        return self.interpolator("gyromagnetic_ratio")(m)

    def damping(self, m):
        return self.interpolator("damping", ("component", "component2"))(m)

    def per_field(self, name: str, dims_after: tuple[str, ...]):
        """Interpolator of a map per unit eE, with ``field`` as the last channel axis."""
        return self.interpolator(name, dims_after)

    @cached_property
    def _inverse_gamma_E(self) -> SphereInterpolator:
        """|m| m_hat . Omega^E (vector form), per unit eE: 1/gamma_E of eq. 2.18 ff., (.., field)."""
        om = self._values("berry_curvature_mm_E", ("field", "component", "component2"))
        vec = vector_form(om)  # (nt, np, field, 3)
        t, p = np.meshgrid(self.theta, self.phi, indexing="ij")
        mhat = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)
        return SphereInterpolator(self.theta, self.phi, self.magnitude * np.einsum("tpfi,tpi->tpf", vec, mhat))

    def inverse_gamma_E(self, m):
        return self._inverse_gamma_E(m)


__all__ = ["SphereInterpolator", "SphereMaps", "fill_nan", "vector_form"]
