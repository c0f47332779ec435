"""Typed settings of a study, built once from the validated configuration.

:func:`magcore.config.validate` fills every default from the schema
(``workflow/schemas/config.schema.yaml``); :meth:`StudySettings.from_config` reads the resolved
dict into frozen dataclasses, one per config section a stage uses.  No field has a default: the
schema is the only place defaults live, and a settings object can only be made from a resolved
configuration (or field by field, every value given).

A parameter sweep overrides values per point with :func:`dataclasses.replace`::

    base = StudySettings.from_config(cfg)
    point = replace(base, electrons=replace(base.electrons, chemical_potential=0.1),
                    model=base.model.with_parameters(J=0.2))

The stages (:mod:`magcore.stages`) build one :class:`StudySettings` per call and pass its parts
down; the raw ``cfg`` dict is used only for provenance (the stored config, the fingerprints, the
check that upstream stores come from the same config sections).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .electrons import Electrons
from .kmesh import KMesh, bz_mesh, continuum_mesh
from .models import Model, get_model


@dataclass(frozen=True)
class ModelSettings:
    """``model``: the registered model name, its parameters (model units) and, for tmd, the
    material; for tight_binding, the ``source`` mapping."""

    name: str
    material: str | None
    parameters: Mapping[str, float]
    source: Mapping[str, Any] | None

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ModelSettings:
        return cls(name=section["name"], material=section["material"], parameters=dict(section["parameters"]),
                   source=copy.deepcopy(section["source"]))

    def with_parameters(self, **values: float) -> ModelSettings:
        """The same model with some parameters set (the others kept)."""
        return replace(self, parameters={**self.parameters, **values})

    def build(self) -> Model:
        """The model object (parameters not given take the model's or material's defaults)."""
        kwargs: dict[str, Any] = dict(self.parameters)
        if self.material is not None:
            kwargs["material"] = self.material
        if self.source is not None:
            kwargs["source"] = self.source
        return get_model(self.name, **kwargs)


def electrons_from_section(section: Mapping[str, Any]) -> Electrons:
    """The :class:`~magcore.electrons.Electrons` of the ``electrons`` section (a null chemical
    potential is mu = 0; with a ``filling`` the bands stage sets mu mid-gap)."""
    mu = section["chemical_potential"]
    return Electrons(chemical_potential=0.0 if mu is None else mu, temperature=section["temperature"],
                     degeneracy_tol=section["degeneracy_tol"], relaxation_time=section["relaxation_time"],
                     smearing=section["smearing"], filling=section["filling"])


@dataclass(frozen=True)
class MeshSettings:
    """``mesh``: the graded disc/segment of continuum models, ``n_k`` of lattice models."""

    k_cutoff: float
    radial_panels: int
    radial_order: int
    grading: float
    n_angle: int
    n_k: int

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> MeshSettings:
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})

    def build(self, model: Model) -> KMesh:
        """Monkhorst-Pack for lattice models, the graded disc/segment otherwise."""
        if model.domain == "lattice":
            return bz_mesh(model.reciprocal_vectors(), self.n_k)
        return continuum_mesh(model.dim, k_cutoff=self.k_cutoff, radial_panels=self.radial_panels,
                              radial_order=self.radial_order, grading=self.grading, n_angle=self.n_angle)


@dataclass(frozen=True)
class SphereGrid:
    """``sphere``: the (theta, phi) grid of magnetization directions."""

    n_theta: int
    n_phi: int

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SphereGrid:
        return cls(n_theta=section["n_theta"], n_phi=section["n_phi"])

    def angles(self) -> tuple[np.ndarray, np.ndarray]:
        """(theta (n_theta,), phi (n_phi,)) of :func:`magcore.sphere.sphere_grid`."""
        from .sphere import sphere_grid

        return sphere_grid(self.n_theta, self.n_phi)


@dataclass(frozen=True)
class BandsSettings:
    """``bands``: the k path and the reference directions [theta, phi] (degrees)."""

    path_points: int
    path_extent: float
    reference_directions_deg: tuple[tuple[float, float], ...]

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> BandsSettings:
        return cls(path_points=section["path_points"], path_extent=section["path_extent"],
                   reference_directions_deg=tuple(tuple(d) for d in section["reference_directions_deg"]))

    def reference_angles(self) -> np.ndarray:
        """(R, 2) [theta, phi] of the reference directions in radians."""
        return np.deg2rad(np.asarray(self.reference_directions_deg, dtype=float))


@dataclass(frozen=True)
class TextureSettings:
    """``texture``: the domain walls of the texture stage."""

    enabled: bool
    walls: tuple[str, ...]
    profile: str
    width: float
    extent: float
    n_points: int
    fd_step: float
    rotation_grid: tuple[int, int]

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> TextureSettings:
        return cls(enabled=section["enabled"], walls=tuple(section["walls"]), profile=section["profile"],
                   width=section["width"], extent=section["extent"], n_points=section["n_points"],
                   fd_step=section["fd_step"], rotation_grid=tuple(section["rotation_grid"]))

    def positions(self) -> np.ndarray:
        """The wall positions y, evenly spaced on [-extent, extent]."""
        return np.linspace(-self.extent, self.extent, self.n_points)


@dataclass(frozen=True)
class SlurmSettings:
    """``compute.slurm``: the dask-jobqueue SLURMCluster of ``dask_cluster: slurm``."""

    queue: str | None
    account: str | None
    cores: int
    memory: str
    walltime: str
    jobs: int

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SlurmSettings:
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ComputeLimits:
    """``compute.limits``: the largest memory (GB) and work a study may need, and the largest
    sweep (points, jobs, combined store size in GB)."""

    max_memory_gb: float
    max_work: float
    max_sweep_points: int
    max_sweep_jobs: int
    max_sweep_store_gb: float

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ComputeLimits:
        return cls(max_memory_gb=section["max_memory_gb"], max_work=section["max_work"],
                   max_sweep_points=section["max_sweep_points"], max_sweep_jobs=section["max_sweep_jobs"],
                   max_sweep_store_gb=section["max_sweep_store_gb"])


@dataclass(frozen=True)
class ComputeSettings:
    """``compute``: how the k-integrals are split into Dask tasks and where they run."""

    points_per_chunk: int
    wall_points_per_chunk: int
    k_block: int
    dask_cluster: str
    dask_scheduler: str | None
    slurm: SlurmSettings
    limits: ComputeLimits

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ComputeSettings:
        return cls(points_per_chunk=section["points_per_chunk"],
                   wall_points_per_chunk=section["wall_points_per_chunk"], k_block=section["k_block"],
                   dask_cluster=section["dask_cluster"], dask_scheduler=section["dask_scheduler"],
                   slurm=SlurmSettings.from_section(section["slurm"]),
                   limits=ComputeLimits.from_section(section["limits"]))


@dataclass(frozen=True)
class FigureSettings:
    """``figures``: figure output; ``sweep``: the sweep figure's axis, direction and quantities."""

    dpi: int
    sweep: Mapping[str, Any]

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> FigureSettings:
        return cls(dpi=section["dpi"], sweep=copy.deepcopy(section["sweep"]))


@dataclass(frozen=True)
class LLGSettings:
    """``llg``: whether the stage runs, where its sphere maps come from, and the section as
    :func:`magcore.llg.sweep_from_config` takes it, with the study's electric field written into
    every term and torque that leaves its own out (:func:`magcore.llg.spec.resolve_electric_fields`)."""

    enabled: bool
    use_sphere: bool
    sphere_store: str | None
    section: Mapping[str, Any]

    @classmethod
    def from_section(cls, section: Mapping[str, Any], electric_field) -> LLGSettings:
        from .llg.spec import resolve_electric_fields

        resolved = copy.deepcopy(dict(section))
        resolved["model"] = resolve_electric_fields(resolved["model"], electric_field)
        return cls(enabled=section["enabled"], use_sphere=section["use_sphere"],
                   sphere_store=section["sphere_store"], section=resolved)

    @property
    def polar_axis(self) -> str:
        """The angle frame of the initial magnetization, also that of the trajectory figure."""
        return self.section["initial"]["polar_axis"]


@dataclass(frozen=True)
class StudySettings:
    """Every setting of a study that a stage reads, typed.

    ``electrons`` is the electronic state of every band sum (its chemical potential is the
    configured one, 0 for null; with a ``filling`` the bands stage sets it mid-gap and later
    stages take the stored value, :meth:`with_chemical_potential`).  ``electric_field`` eE is
    the study's field as written (model units, at most one entry per k direction; missing
    trailing entries are 0 wherever it is used)."""

    study: str
    results_dir: str
    model: ModelSettings
    magnitude: float
    gamma_f: float
    electrons: Electrons
    gap_tolerance: float
    mesh: MeshSettings
    sphere: SphereGrid
    bands: BandsSettings
    texture: TextureSettings
    llg: LLGSettings
    compute: ComputeSettings
    figures: FigureSettings
    electric_field: tuple[float, ...]

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> StudySettings:
        """The settings of a configuration resolved by :func:`magcore.config.validate`."""
        return cls(
            study=cfg["study"], results_dir=cfg["results_dir"],
            model=ModelSettings.from_section(cfg["model"]),
            magnitude=cfg["magnetization"]["magnitude"], gamma_f=cfg["ferromagnet"]["gamma_f"],
            electrons=electrons_from_section(cfg["electrons"]), gap_tolerance=cfg["electrons"]["gap_tolerance"],
            mesh=MeshSettings.from_section(cfg["mesh"]), sphere=SphereGrid.from_section(cfg["sphere"]),
            bands=BandsSettings.from_section(cfg["bands"]), texture=TextureSettings.from_section(cfg["texture"]),
            llg=LLGSettings.from_section(cfg["llg"], cfg["electric_field"]), compute=ComputeSettings.from_section(cfg["compute"]),
            figures=FigureSettings.from_section(cfg["figures"]),
            electric_field=tuple(float(x) for x in cfg["electric_field"]),
        )

    def with_chemical_potential(self, chemical_potential: float) -> StudySettings:
        """The same study at another chemical potential (e.g. the bands stage's mid-gap value)."""
        return replace(self, electrons=replace(self.electrons, chemical_potential=float(chemical_potential)))
