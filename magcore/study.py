"""Build the objects of a study (model, meshes, grids) from a resolved configuration: the
one-call forms of the builders of :mod:`magcore.settings`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .electrons import Electrons
from .kmesh import KMesh
from .models import Model
from .settings import MeshSettings, ModelSettings, SphereGrid, electrons_from_section


def model_from_config(cfg: dict[str, Any]) -> Model:
    """The model named in ``cfg['model']`` with its parameters (and material / source)."""
    return ModelSettings.from_section(cfg["model"]).build()


def mesh_from_config(cfg: dict[str, Any], model: Model) -> KMesh:
    """The integration mesh: Monkhorst-Pack for lattice models, graded disc/segment otherwise."""
    return MeshSettings.from_section(cfg["mesh"]).build(model)


def electrons_from_config(cfg: dict[str, Any], chemical_potential: float | None = None) -> Electrons:
    """The electronic state of every stage; ``chemical_potential`` (e.g. set by a filling in the
    bands stage) overrides the config's value."""
    electrons = electrons_from_section(cfg["electrons"])
    if chemical_potential is not None:
        electrons = replace(electrons, chemical_potential=chemical_potential)
    return electrons


def grid_from_config(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(theta, phi) of the sphere grid."""
    return SphereGrid.from_section(cfg["sphere"]).angles()
