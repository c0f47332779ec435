"""Registry of Bloch-Hamiltonian models, by name.

>>> from magcore.models import get_model
>>> model = get_model("ti_surface", J=0.5)
"""

from __future__ import annotations

from .base import PAULI, Model, Parameter, TwoBandModel
from .dirac import TISurface

MODELS: dict[str, type[Model]] = {cls.name: cls for cls in (TISurface,)}


def register(cls: type[Model]) -> type[Model]:
    """Add a model class to the registry (usable as a decorator)."""
    if not cls.name:
        raise ValueError("a registered model needs a non-empty class attribute 'name'")
    MODELS[cls.name] = cls
    return cls


def get_model(name: str, **params: float) -> Model:
    """Instantiate the model registered under ``name`` with the given parameters."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}") from None
    return cls(**params)


__all__ = ["MODELS", "PAULI", "Model", "Parameter", "TwoBandModel", "get_model", "register"]
