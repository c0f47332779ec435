"""Build the objects of a study (model, meshes, grids) from a resolved configuration."""

from __future__ import annotations

from typing import Any

import numpy as np

from .kmesh import KMesh, bz_mesh, continuum_mesh
from .models import Model, get_model
from .electrons import Electrons
from .sphere import sphere_grid


def model_from_config(cfg: dict[str, Any]) -> Model:
    """The model named in ``cfg['model']`` with its parameters (and material / source)."""
    mc = cfg["model"]
    kwargs: dict[str, Any] = dict(mc["parameters"])
    if mc.get("material") is not None:
        kwargs["material"] = mc["material"]
    if mc.get("source") is not None:
        kwargs["source"] = mc["source"]
    return get_model(mc["name"], **kwargs)


def mesh_from_config(cfg: dict[str, Any], model: Model) -> KMesh:
    """The integration mesh: Monkhorst-Pack for lattice models, graded disc/segment otherwise."""
    mc = cfg["mesh"]
    if model.domain == "lattice":
        return bz_mesh(model.reciprocal_vectors(), mc["n_k"])
    return continuum_mesh(model.dim, k_cutoff=mc["k_cutoff"], radial_panels=mc["radial_panels"],
                          radial_order=mc["radial_order"], grading=mc["grading"], n_angle=mc["n_angle"])


def electrons_from_config(cfg: dict[str, Any], chemical_potential: float | None = None) -> Electrons:
    """The electronic state of every stage; ``chemical_potential`` (e.g. set by a filling in the
    bands stage) overrides the config's value."""
    ec = cfg["electrons"]
    mu = ec["chemical_potential"] if chemical_potential is None else chemical_potential
    return Electrons(chemical_potential=0.0 if mu is None else mu, temperature=ec["temperature"],
                     degeneracy_tol=ec["degeneracy_tol"], relaxation_time=ec["relaxation_time"],
                     smearing=ec["smearing"], filling=ec["filling"])


def grid_from_config(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return sphere_grid(cfg["sphere"]["n_theta"], cfg["sphere"]["n_phi"])
