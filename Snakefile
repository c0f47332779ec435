# magcore: semiclassical magnetization dynamics from band structures.
#   snakemake --cores 2                                   # the default study, config/config.yaml
#   snakemake --cores 2 --configfile config/<study>.yaml  # another study
# The config is validated against workflow/schemas/config.schema.yaml (defaults filled in)
# before any job runs; every stage is one call into the magcore library.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

from magcore.config import ConfigError, read_study_file, validate as validate_config
from magcore.figures_files import llg_figure_files

# Without --configfile, run the embedded default study. A study file given with --configfile
# is complete on its own: keys it omits take the schema defaults, never values of the default
# study (Snakemake would otherwise deep-merge the two, mixing e.g. two models' parameters).
if not workflow.overwrite_configfiles:

    configfile: Path(workflow.basedir) / "config" / "config.yaml"


# Snakemake has parsed the study files already (through YTE, before this file runs). Read them
# again with magcore's strict reader, which refuses what that parse lets through (duplicate
# keys, anchors and aliases, __use_yte__ templates), then validate the merged config (with any
# --config values) before any job: one line naming the key, nothing written. A file Snakemake
# cannot parse at all stops Snakemake before this point, with its own message (no line).
try:
    for _study_file in workflow.overwrite_configfiles or [
        Path(workflow.basedir) / "config" / "config.yaml"
    ]:
        read_study_file(_study_file)
    _resolved = validate_config(dict(config))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_resolved)

STUDY = Path(config["results_dir"]) / config["study"]
# files a user model is read from: rule inputs, so that editing them reruns the study
_source = config["model"]["source"] or {}
MODEL_FILES = [
    _source[key]
    for key in (
        "hr_dat",
        "tb_dat",
        "sparse_hr_dat",
        "win",
        "centres_xyz",
        "fermi_energy",
        "hoppings_file",
    )
    if isinstance(_source.get(key), str)
]
FIGURES = {
    "fig2_3": STUDY / "figures" / "fig2_3_gyromagnetic_ratio_free_energy.png",
    "bands": STUDY / "figures" / "bands_path.png",
    "gap": STUDY / "figures" / "gap_map.png",
    "fig2_4": STUDY / "figures" / "fig2_4_hemisphere_free_energies_under_E.png",
    "field_torque": STUDY / "figures" / "field_induced_field_and_torque_maps.png",
    "berry_k": STUDY / "figures" / "berry_curvature_k.png",
}
TEXTURE_FIGURES = {
    "fig3_5": STUDY / "figures" / "fig3_5_bloch_wall_second_chern.png",
    "fig3_7": STUDY / "figures" / "fig3_7_neel_wall_second_chern.png",
    "fig3_8": STUDY / "figures" / "fig3_8_bloch_wall_spin_dipole.png",
    "fig3_9": STUDY / "figures" / "fig3_9_neel_wall_spin_dipole.png",
}
# one file per dissertation figure named in llg.record (fig2_9_red -> fig2_9_...png), the
# others in llg_trajectories.png, and the phase diagram (magcore.figures_files)
LLG_FIGURES = llg_figure_files(config["llg"]["record"], STUDY / "figures")
LLG_OUTPUTS = (
    [STUDY / "llg.zarr" / "zarr.json", *LLG_FIGURES.values()]
    if config["llg"]["enabled"]
    else []
)
# the llg stage reads this study's sphere maps only if asked to (and no other store is named)
LLG_SPHERE_INPUT = (
    [STUDY / "sphere.zarr" / "zarr.json"]
    if config["llg"]["use_sphere"] and not config["llg"]["sphere_store"]
    else []
)
TEXTURE_OUTPUTS = (
    [STUDY / "texture.zarr" / "zarr.json", *TEXTURE_FIGURES.values()]
    if config["texture"]["enabled"]
    else []
)


# A sweep study (a `sweep` section): its expensive points, each a job, by id
# (magcore.sweep.point_id), with the settings that make the point as the job's params.
SWEEP = None
if config.get("sweep"):
    import json

    from magcore.stages import sweep_point_stages
    from magcore.sweep import sweep_from_config

    SWEEP = sweep_from_config(config)
if SWEEP is not None:
    POINT_STAGES = sweep_point_stages(config)
    # a mesh axis with several values: the mesh-convergence report (rule sweep_convergence)
    SWEEP_CONVERGENCE = any(
        a.path[0] == "mesh" and len(a.values) > 1 for a in SWEEP.axes
    )
    _cheap = [(a.name, list(a.values)) for a in SWEEP.axes if a.cheap]
    SWEEP_POINTS = {
        p.id: json.dumps(
            {
                "overrides": {".".join(k): v for k, v in p.overrides.items()},
                "cheap": _cheap,
            }
        )
        for p in SWEEP.expensive_points(config)
    }


# Stores are declared by their zarr.json (a directory() output would get a
# .snakemake_timestamp file inside, which zarr warns about on every open).
if SWEEP is None:

    include: "workflow/rules/bands.smk"
    include: "workflow/rules/sphere.smk"
    include: "workflow/rules/figures.smk"
    include: "workflow/rules/texture.smk"
    include: "workflow/rules/llg.smk"

    rule all:
        default_target: True
        input:
            STUDY / "bands.zarr" / "zarr.json",
            STUDY / "sphere.zarr" / "zarr.json",
            FIGURES.values(),
            STUDY / "summary.txt",
            TEXTURE_OUTPUTS,
            LLG_OUTPUTS,

else:

    include: "workflow/rules/sweep.smk"

    rule all:
        default_target: True
        input:
            [STUDY / f"{stage}.zarr" / "zarr.json" for stage in POINT_STAGES],
            STUDY / "figures" / "sweep_lines.png",
            (
                [STUDY / "figures" / "sweep_llg_outcomes.png"]
                if config["llg"]["enabled"]
                else []
            ),
            STUDY / "summary.txt",
            (
                [
                    STUDY / "convergence.zarr" / "zarr.json",
                    STUDY / "figures" / "convergence.png",
                    STUDY / "convergence.txt",
                ]
                if SWEEP_CONVERGENCE
                else []
            ),


report: "workflow/report/workflow.rst"
