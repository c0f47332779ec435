rule llg:
    input:
        sphere=LLG_SPHERE_INPUT,
    output:
        STUDY / "llg.zarr" / "zarr.json",
    log:
        STUDY / "logs" / "llg.log",
    threads: 64  # scaled down to --cores locally; set per job in the slurm profile
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        llg=config["llg"],
        model=config["model"],
        electric_field=config["electric_field"],
    script:
        "../scripts/llg.py"


rule llg_figures:
    input:
        llg=STUDY / "llg.zarr" / "zarr.json",
    output:
        **{
            key: report(path, caption="../report/llg.rst", category="LLG dynamics")
            for key, path in LLG_FIGURES.items()
        },
    log:
        STUDY / "logs" / "llg_figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        figures=config["figures"],
    script:
        "../scripts/llg_figures.py"
