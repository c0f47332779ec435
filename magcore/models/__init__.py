"""Registry of Bloch-Hamiltonian models, by name.

>>> from magcore.models import get_model
>>> model = get_model("ti_surface", J=0.5)
"""

from __future__ import annotations

from importlib import import_module

from .base import PAULI, Model, Parameter, TwoBandModel

MODELS: dict[str, type[Model]] = {}


def register(cls: type[Model]) -> type[Model]:
    """Add a model class to the registry (use as a class decorator in a model module)."""
    if not cls.name:
        raise ValueError("a registered model needs a non-empty class attribute 'name'")
    MODELS[cls.name] = cls
    return cls


# Model modules register their classes with @register on import.
_MODULES = ("dirac", "tmd", "rashba", "validation", "tight_binding")
for _name in _MODULES:
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:  # module not written yet (development only)
        if _exc.name != f"{__name__}.{_name}":
            raise


def get_model(name: str, **params) -> Model:
    """Instantiate the model registered under ``name`` with the given parameters
    (and, for models that take them, keyword options such as ``material``)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}") from None
    return cls(**params)


__all__ = ["MODELS", "PAULI", "Model", "Parameter", "TwoBandModel", "get_model", "register"]
