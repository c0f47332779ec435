"""Fermi-Dirac occupation f0 and grand potential per state at temperature T (T = 0 allowed).

Energies, ``mu`` and ``T`` share the model's energy unit (k_B = 1).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


FERMI_WINDOW = 40.0
"""f0 is exactly 0 more than FERMI_WINDOW * T above mu (there f0 < exp(-40) = 4.3e-18, below
double-precision relevance, just as f0 rounds to exactly 1 below about -37 T).  States outside
the window then carry no Fermi-surface weight at all, so far-away degeneracies are not flagged."""


def fermi_dirac(E: np.ndarray, mu: float, T: float) -> np.ndarray:
    """f0(E) = 1 / (1 + exp((E - mu) / T)); at T = 0 a step with f0(mu) = 1/2; exactly 0 for
    E - mu > FERMI_WINDOW * T."""
    E = np.asarray(E, dtype=float)
    if T < 0:
        raise ValueError(f"temperature must be >= 0, got {T}")
    if T == 0:
        return np.where(E < mu, 1.0, np.where(E == mu, 0.5, 0.0))
    x = (E - mu) / T
    return np.where(x > FERMI_WINDOW, 0.0, expit(-x))


def grand_potential_per_state(E: np.ndarray, mu: float, T: float) -> np.ndarray:
    """g(E) = -T ln(1 + exp(-(E - mu)/T)) (text after eq. 2.12); at T = 0, min(E - mu, 0)."""
    E = np.asarray(E, dtype=float)
    if T < 0:
        raise ValueError(f"temperature must be >= 0, got {T}")
    if T == 0:
        return np.minimum(E - mu, 0.0)
    return -T * np.logaddexp(0.0, -(E - mu) / T)
