# A study with a `sweep` section: one job per point of the expensive axes (model parameters,
# material, magnetization, mesh, wall), each running the single-point stages for every
# combination of the cheap (electron-state) axes, then one combine job per stage that stacks
# the point stores along the sweep dimensions.  Point folders are keyed by the point's own
# settings (magcore.sweep.point_id): adding axis values adds folders, the others are reused.


rule sweep_point:
    input:
        model_files=MODEL_FILES,
    output:
        [
            STUDY / "points" / "{point}" / f"{stage}.zarr" / "zarr.json"
            for stage in POINT_STAGES
        ],
    log:
        STUDY / "logs" / "points" / "{point}.log",
    wildcard_constraints:
        point="|".join(SWEEP_POINTS) or "no-point",
    # points per cluster job: snakemake --group-components sweep_points=N (locally ignored)
    group:
        "sweep_points"
    # the cores shared by the points (one core each when there are more points than cores; all
    # of them for a single point); set per job in the slurm profile
    threads: max(1, (workflow.cores or 64) // max(1, len(SWEEP_POINTS)))
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=lambda wc: SWEEP_POINTS[wc.point],
    script:
        "../scripts/sweep_point.py"


rule sweep_combine:
    input:
        lambda wc: [
            STUDY / "points" / p / f"{wc.stage}.zarr" / "zarr.json"
            for p in SWEEP_POINTS
        ],
    output:
        STUDY / "{stage}.zarr" / "zarr.json",
    log:
        STUDY / "logs" / "combine_{stage}.log",
    wildcard_constraints:
        stage="|".join(POINT_STAGES),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/sweep_combine.py"


# summary.txt: every combined store, then the warnings of every job's log; it waits for the
# figures so that their logs are complete
rule sweep_summary:
    input:
        stores=[
            *[STUDY / f"{stage}.zarr" / "zarr.json" for stage in POINT_STAGES],
            *([STUDY / "convergence.zarr" / "zarr.json"] if SWEEP_CONVERGENCE else []),
        ],
        figures=[
            STUDY / "figures" / "sweep_lines.png",
            *(
                [STUDY / "figures" / "sweep_llg_outcomes.png"]
                if config["llg"]["enabled"]
                else []
            ),
            *([STUDY / "figures" / "convergence.png"] if SWEEP_CONVERGENCE else []),
        ],
    output:
        STUDY / "summary.txt",
    log:
        STUDY / "logs" / "summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        logs=[
            *[STUDY / "logs" / "points" / f"{p}.log" for p in SWEEP_POINTS],
            *[STUDY / "logs" / f"combine_{stage}.log" for stage in POINT_STAGES],
            STUDY / "logs" / "sweep_figures.log",
            *(
                [STUDY / "logs" / "sweep_llg_figure.log"]
                if config["llg"]["enabled"]
                else []
            ),
            *([STUDY / "logs" / "sweep_convergence.log"] if SWEEP_CONVERGENCE else []),
        ],
    script:
        "../scripts/summary.py"


rule sweep_figures:
    input:
        sphere=STUDY / "sphere.zarr" / "zarr.json",
    output:
        report(
            STUDY / "figures" / "sweep_lines.png",
            caption="../report/sweep_lines.rst",
            category="Sweep",
        ),
    log:
        STUDY / "logs" / "sweep_figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        figure=config["figures"]["sweep"],
    script:
        "../scripts/sweep_figures.py"


# With the llg stage: where the trajectories end against the sweep axis of figures.sweep.x.
rule sweep_llg_figure:
    input:
        llg=STUDY / "llg.zarr" / "zarr.json",
    output:
        report(
            STUDY / "figures" / "sweep_llg_outcomes.png",
            caption="../report/sweep_llg_outcomes.rst",
            category="Sweep",
        ),
    log:
        STUDY / "logs" / "sweep_llg_figure.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/sweep_llg_figure.py"


# A sweep over a mesh key: the relative change of every sphere-map quantity between successive
# meshes (magcore.convergence) against sweep.convergence_tolerance; convergence.txt starts with
# the line saying whether the finest mesh meets it.
rule sweep_convergence:
    input:
        sphere=STUDY / "sphere.zarr" / "zarr.json",
    output:
        store=STUDY / "convergence.zarr" / "zarr.json",
        png=report(
            STUDY / "figures" / "convergence.png",
            caption="../report/convergence.rst",
            category="Sweep",
        ),
        txt=STUDY / "convergence.txt",
    log:
        STUDY / "logs" / "sweep_convergence.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        tolerance=config["sweep"]["convergence_tolerance"],
    script:
        "../scripts/sweep_convergence.py"
