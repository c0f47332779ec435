"""Parameter sweeps of a study: the ``sweep`` section, its points and their configs and keys.

>>> from magcore.config import validate
>>> from magcore.sweep import sweep_from_config, point_config
>>> cfg = validate({"model": {"name": "tmd"},
...                 "sweep": {"axes": {"J": {"values": [0.1, 0.2]},
...                                    "chemical_potential": {"start": 0.5, "stop": 1.5, "num": 3}}}})
>>> sweep = sweep_from_config(cfg)
>>> sweep.dims(), sweep.shape()
(('J', 'chemical_potential'), (2, 3))
>>> [p.overrides for p in sweep.expensive_points(cfg)]
[{('model', 'parameters', 'J'): 0.1}, {('model', 'parameters', 'J'): 0.2}]
>>> point_config(cfg, {("model", "parameters", "J"): 0.2})["model"]["parameters"]
{'J': 0.2}

Expensive axes (everything but the electron state) are one Snakemake job per point; the
electron-state axes (``electrons.chemical_potential``, ``temperature``, ``relaxation_time``,
``smearing``) are evaluated inside each job.  Every point is a single-point study of its own
(:func:`point_config`), keyed by :func:`point_id`.  The parsing, the enumeration and the checks
live in :mod:`magcore.sweep_spec` (which :func:`magcore.config.validate` calls); this module adds
what needs :mod:`magcore.config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import ConfigError, validate
from .sweep_spec import (
    CHEAP_KEYS,
    KNOWN_PATHS,
    Axis,
    Point,
    Sweep,
    SweepSpecError,
    apply_overrides,
    describe_point,
    is_resolved,
    parse,
    point_id,
)

__all__ = ["CHEAP_KEYS", "KNOWN_PATHS", "Axis", "Point", "Sweep", "point_config", "point_id", "sweep_from_config"]


def sweep_from_config(cfg: Mapping[str, Any]) -> Sweep | None:
    """The :class:`Sweep` of a study config (resolved with :func:`magcore.config.validate`
    first if it is not), or None when it has no sweep section or no axes.  A sweep that cannot
    be run is a :class:`~magcore.config.ConfigError`."""
    if not is_resolved(cfg):
        cfg = validate(dict(cfg))
    try:
        return parse(cfg)
    except SweepSpecError as exc:
        raise ConfigError(str(exc)) from None


def point_config(base_cfg: Mapping[str, Any], overrides: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """The config of one point: ``base_cfg`` with its sweep section removed and ``overrides``
    ({path tuple: value}) put in, validated by :func:`magcore.config.validate` - a single-point
    study config.  Its :class:`~magcore.config.ConfigError` names the point's axes (from
    ``base_cfg``'s sweep section) and values."""
    try:
        return validate(apply_overrides(base_cfg, overrides))
    except ConfigError as exc:
        inner = str(exc).removeprefix("config error: ")
        raise ConfigError(f"config error: {describe_point(base_cfg, overrides)}: {inner}") from None
