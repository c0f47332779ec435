"""The 1D ferromagnet on a 2D-TI edge (dissertation section 2.4.1, eqs. 2.43-2.45).

Angles: polar axis y, phi from z towards x, m = (sin t sin p, cos t, sin t cos p)
(``polar_axis="y"`` of :func:`magcore.llg._util.from_angles`).  The angle equations

    [[2 alpha, -A sin t], [A sin t, 2 alpha sin^2 t]] (t_dot, p_dot)
        = (-de/dt, -de/dp) + (0, -B sin t)                                    (2.45)

are the vector LLG m_dot = -gamma m x (H - eta m_dot) on the unit sphere with

    gamma = 1/A,  eta = 2 alpha (isotropic; Gilbert constant gamma eta = 2 alpha / A),
    H = -de/dm + H^E,  e = -K_uni m_x^2 - K_ti m_y^2 - H_Z m_y,
    H^E = -B e_phi (form "2.45", as printed) or -B e_phi / sin t (form "2.41", eq. 2.41),

since, with e_t = dm/dt, e_p = dm/dp / sin t and m x e_t = e_p: the e_t and sin t e_p
components of m x (m_dot / gamma) = (H - eta m_dot)_perp are exactly the two rows.  Only the
ratios alpha/A, K/A, B/A, H/A matter (time scales with A), and A is the renormalised
(1 + alpha_exchange / pi) A of eq. 2.44 ff.
"""

from __future__ import annotations

import numpy as np

from .model import LLG, FaradayField, UniaxialAnisotropy, Zeeman, ti_edge_anisotropy


def edge_model(alpha, K_uni=1.0, K_ti=0.0, H=0.0, B=0.0, A=1.0, faraday_form: str = "2.45",
               core: float = 0.0) -> LLG:
    """The LLG of eqs. 2.43-2.45: easy axis x (K_uni), TI term e_ti = -K_ti m_y^2, Zeeman field
    H along y, Faraday field B = eE/2pi about y.  Arguments may be per-trajectory arrays."""
    terms = [UniaxialAnisotropy(K_uni, (1.0, 0.0, 0.0)), ti_edge_anisotropy(K_ti),
             Zeeman(np.stack(np.broadcast_arrays(0.0 * np.asarray(H, float), np.asarray(H, float),
                                                 0.0 * np.asarray(H, float)), axis=-1)),
             FaradayField(B, (0.0, 1.0, 0.0), faraday_form, core)]
    return LLG(terms, gamma=1.0 / np.asarray(A, float), damping=2.0 * np.asarray(alpha, float),
               description=f"2D-TI edge ferromagnet, eqs. 2.43-2.45 (Faraday form {faraday_form})")


def edge_spec(alpha="alpha", K_uni=1.0, K_ti=0.0, H=0.0, B=0.0, A=1.0, faraday_form: str = "2.45") -> dict:
    """The same model as a ``build_llg`` spec (values may be expressions of sweep axes)."""
    return {"gamma": f"1/({A})" if isinstance(A, str) else 1.0 / A,
            "damping": f"2*({alpha})" if isinstance(alpha, str) else 2.0 * alpha,
            "terms": [{"kind": "uniaxial", "K": K_uni, "axis": [1, 0, 0]},
                      {"kind": "ti_edge", "K_ti": K_ti},
                      {"kind": "zeeman", "field": [0, H, 0]},
                      {"kind": "faraday", "B": B, "axis": [0, 1, 0], "form": faraday_form}]}


def edge_minima(K_uni=1.0, K_ti=0.0, H=0.0) -> np.ndarray:
    """Energy minima (2, 3) of e = -K_uni m_x^2 - K_ti m_y^2 - H m_y for K_uni > K_ti:
    m = (+/- sqrt(1 - c^2), c, 0), c = H / (2 (K_uni - K_ti)) (|c| < 1)."""
    if K_uni <= K_ti:
        raise ValueError("need K_uni > K_ti (x the easiest axis)")
    c = H / (2.0 * (K_uni - K_ti))
    if abs(c) >= 1:
        raise ValueError("the Zeeman field aligns m with y: no minima off the y axis")
    s = np.sqrt(1 - c * c)
    return np.array([[s, c, 0.0], [-s, c, 0.0]])
