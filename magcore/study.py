"""Build the objects of a study (model, meshes, grids) from a resolved configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .kmesh import KMesh, continuum_mesh
from .models import Model, get_model
from .sphere import Electrons, sphere_grid


def model_from_config(cfg: dict[str, Any]) -> Model:
    return get_model(cfg["model"]["name"], **cfg["model"]["parameters"])


def mesh_from_config(cfg: dict[str, Any], model: Model) -> KMesh:
    mc = cfg["mesh"]
    if model.domain != "continuum":
        raise NotImplementedError(f"lattice meshes are not implemented yet (model {model.name!r})")
    return continuum_mesh(model.dim, k_cutoff=mc["k_cutoff"], radial_panels=mc["radial_panels"],
                          radial_order=mc["radial_order"], grading=mc["grading"], n_angle=mc["n_angle"])


def electrons_from_config(cfg: dict[str, Any]) -> Electrons:
    ec = cfg["electrons"]
    return Electrons(chemical_potential=ec["chemical_potential"], temperature=ec["temperature"],
                     degeneracy_tol=ec["degeneracy_tol"])


def grid_from_config(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return sphere_grid(cfg["sphere"]["n_theta"], cfg["sphere"]["n_phi"])


def study_dir(cfg: dict[str, Any]) -> Path:
    return Path(cfg["results_dir"]) / cfg["study"]
