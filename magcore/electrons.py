"""The electronic state that enters every band sum of every stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Electrons:
    """Electronic state entering every band sum (model energy unit, k_B = hbar = 1).

    ``relaxation_time`` tau (hbar / energy unit) multiplies the Fermi-surface (extrinsic)
    terms.  Their weight -df0/de uses a Fermi-Dirac derivative at temperature
    max(temperature, smearing): at T = 0 a metal needs ``smearing`` > 0 (converge it), an
    insulator with mu in the gap has no Fermi surface and these terms vanish.  ``filling``
    (number of filled bands, or None) defines the occupied subspace of the non-Abelian
    (occupied-subspace) forms of the texture stage; Fermi-Dirac sums use the chemical potential.
    """

    chemical_potential: float = 0.0
    temperature: float = 0.0
    degeneracy_tol: float = 1e-9
    relaxation_time: float = 1.0
    smearing: float = 0.0
    filling: int | None = None

    def __post_init__(self):
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.degeneracy_tol <= 0:
            raise ValueError(f"degeneracy_tol must be > 0, got {self.degeneracy_tol}")
        if self.relaxation_time < 0 or self.smearing < 0:
            raise ValueError("relaxation_time and smearing must be >= 0")
        if self.filling is not None and self.filling < 1:
            raise ValueError(f"filling must be >= 1 (or None), got {self.filling}")

    @property
    def fermi_surface_temperature(self) -> float:
        """max(temperature, smearing): the temperature of the Fermi-surface weight -df0/de."""
        return max(self.temperature, self.smearing)
