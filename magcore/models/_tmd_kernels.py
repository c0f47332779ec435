"""Compiled kernels of the tmd model (:class:`magcore.models.tmd.TMD`): H(k; m) and dH/dk from
the formulas of eqs. 3.78-3.80, evaluated in SIMD lanes.  Imported by the model only where a
kernel runs, so that building a model (e.g. to validate a config) does not import numba."""

from __future__ import annotations

import numpy as np

from .._numba import kernel


@kernel
def _tmd_operators(k, m, par, which, out):
    """H(k; m) (which = 0, out (N, 1, 6, 6)) or dH/dk (which = 1, out (N, 2, 6, 6)) of
    :class:`TMD` per point; par = (a, e1, e2, t0, t1, t2, t11, t12, t22, lambda, J).  Evaluated
    by the lane functions below in blocks of points; tests compare them with the numpy
    :meth:`TMD.h_nn` and :meth:`TMD.dh_nn_dk`.  Blocks of 16 points keep the lanes in L1 while they are copied out."""
    N = k.shape[0]
    L = 16
    T = np.empty((8, L))
    Hr = np.empty((6, 6, L))
    Hi = np.empty((6, 6, L))
    Xr = np.zeros((72, L))
    Xi = np.zeros((72, L))
    for s0 in range(0, N, L):
        _tmd_trig_lanes(k, m, par, s0, L, T)
        if which == 0:
            _tmd_hamiltonian_lanes(T, L, par, Hr, Hi)
        else:
            _tmd_dk_lanes(T, L, par, Xr, Xi)
        for l in range(min(L, N - s0)):
            o = out[s0 + l]
            if which == 0:
                for i in range(6):
                    for j in range(i + 1):
                        o[0, i, j] = complex(Hr[i, j, l], Hi[i, j, l])
                        o[0, j, i] = complex(Hr[i, j, l], -Hi[i, j, l])
            else:
                for op in range(2):
                    for i in range(6):
                        for j in range(6):
                            o[op, i, j] = complex(Xr[36 * op + 6 * i + j, l], Xi[36 * op + 6 * i + j, l])


@kernel
def _tmd_trig_lanes(k, m, par, s0, L, T):
    """T[0:4, l] = cos alpha, sin alpha, cos beta, sin beta (alpha = k_x a / 2,
    beta = sqrt3 k_y a / 2) and T[4:7, l] = J m of point s0 + l (lanes past the end of k repeat
    its last point)."""
    N = k.shape[0]
    a, J = par[0], par[10]
    s3 = np.sqrt(3.0)
    for l in range(L):
        s = min(s0 + l, N - 1)
        al = 0.5 * a * k[s, 0]
        be = 0.5 * s3 * a * k[s, 1]
        T[0, l] = np.cos(al)
        T[1, l] = np.sin(al)
        T[2, l] = np.cos(be)
        T[3, l] = np.sin(be)
        T[4, l] = J * m[s, 0]
        T[5, l] = J * m[s, 1]
        T[6, l] = J * m[s, 2]


@kernel
def _tmd_hamiltonian_lanes(T, L, par, Hr, Hi):
    """Lower triangle of H (eqs. 3.78-3.80) into Hr + i Hi (6, 6, L) from the trigonometric
    functions and J m in T (:func:`_tmd_trig_lanes`)."""
    e1, e2, t0, t1, t2, t11, t12, t22, lam = par[1], par[2], par[3], par[4], par[5], par[6], par[7], par[8], par[9]
    s3 = np.sqrt(3.0)
    for l in range(L):
        ca, sa, cb, sb = T[0, l], T[1, l], T[2, l], T[3, l]
        mx, my, mz = T[4, l], T[5, l], T[6, l]
        c2a = ca * ca - sa * sa
        s2a = 2.0 * sa * ca
        h0 = 2 * t0 * (c2a + 2 * ca * cb) + e1
        h1r = -2 * s3 * t2 * sa * sb
        h1i = 2 * t1 * (s2a + sa * cb)
        h2r = 2 * t2 * (c2a - ca * cb)
        h2i = 2 * s3 * t1 * ca * sb
        h11 = 2 * t11 * c2a + (t11 + 3 * t22) * ca * cb + e2
        h12r = s3 * (t22 - t11) * sa * sb
        h12i = 4 * t12 * sa * (ca - cb)
        h22 = 2 * t22 * c2a + (3 * t11 + t22) * ca * cb + e2
        for o in range(0, 6, 3):
            sz = mz if o == 0 else -mz
            Hr[o, o, l] = h0 + sz
            Hi[o, o, l] = 0.0
            Hr[o + 1, o + 1, l] = h11 + sz
            Hi[o + 1, o + 1, l] = 0.0
            Hr[o + 2, o + 2, l] = h22 + sz
            Hi[o + 2, o + 2, l] = 0.0
            Hr[o + 1, o, l] = h1r
            Hi[o + 1, o, l] = -h1i
            Hr[o + 2, o, l] = h2r
            Hi[o + 2, o, l] = -h2i
            Hr[o + 2, o + 1, l] = h12r
            Hi[o + 2, o + 1, l] = -h12i - (lam if o == 0 else -lam)  # (lambda / 2) s_z (x) L_z
        for i in range(3):  # J m . s: the spin-off-diagonal block, H[3 + i, i] = J (m_x + i m_y)
            for j in range(3):
                Hr[3 + i, j, l] = mx if i == j else 0.0
                Hi[3 + i, j, l] = my if i == j else 0.0


@kernel
def _tmd_dk_lanes(T, L, par, Xr, Xi):
    """dH/dk_x, dH/dk_y (all elements) into Xr + i Xi (2 * 36, L), rows op * 36 + 6 a + b,
    from the trigonometric functions in T (:func:`_tmd_trig_lanes`)."""
    a, t0, t1, t2, t11, t12, t22 = par[0], par[3], par[4], par[5], par[6], par[7], par[8]
    s3 = np.sqrt(3.0)
    ha = 0.5 * a
    hb = 0.5 * s3 * a
    for l in range(L):
        ca, sa, cb, sb = T[0, l], T[1, l], T[2, l], T[3, l]
        c2a = ca * ca - sa * sa
        s2a = 2.0 * sa * ca
        for op in range(2):
            if op == 0:  # d/dk_x = (a / 2) d/d alpha
                x0 = ha * 2 * t0 * (-2 * s2a - 2 * sa * cb)
                x1r = ha * (-2 * s3 * t2 * ca * sb)
                x1i = ha * 2 * t1 * (2 * c2a + ca * cb)
                x2r = ha * 2 * t2 * (-2 * s2a + sa * cb)
                x2i = ha * (-2 * s3 * t1 * sa * sb)
                x11 = ha * (-4 * t11 * s2a - (t11 + 3 * t22) * sa * cb)
                x12r = ha * s3 * (t22 - t11) * ca * sb
                x12i = ha * 4 * t12 * (c2a - ca * cb)
                x22 = ha * (-4 * t22 * s2a - (3 * t11 + t22) * sa * cb)
            else:  # d/dk_y = (sqrt3 a / 2) d/d beta
                x0 = hb * (-4 * t0 * ca * sb)
                x1r = hb * (-2 * s3 * t2 * sa * cb)
                x1i = hb * (-2 * t1 * sa * sb)
                x2r = hb * 2 * t2 * ca * sb
                x2i = hb * 2 * s3 * t1 * ca * cb
                x11 = hb * (-(t11 + 3 * t22) * ca * sb)
                x12r = hb * s3 * (t22 - t11) * sa * cb
                x12i = hb * 4 * t12 * sa * sb
                x22 = hb * (-(3 * t11 + t22) * ca * sb)
            for o in range(0, 6, 3):
                r = 36 * op + 7 * o  # element (o, o)
                Xr[r, l] = x0
                Xr[r + 7, l] = x11
                Xr[r + 14, l] = x22
                Xr[r + 1, l] = x1r
                Xi[r + 1, l] = x1i
                Xr[r + 6, l] = x1r
                Xi[r + 6, l] = -x1i
                Xr[r + 2, l] = x2r
                Xi[r + 2, l] = x2i
                Xr[r + 12, l] = x2r
                Xi[r + 12, l] = -x2i
                Xr[r + 8, l] = x12r
                Xi[r + 8, l] = x12i
                Xr[r + 13, l] = x12r
                Xi[r + 13, l] = -x12i
