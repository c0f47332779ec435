rule texture:
    input:
        bands=STUDY / "bands.zarr" / "zarr.json",
        model_files=MODEL_FILES,
    output:
        STUDY / "texture.zarr" / "zarr.json",
    log:
        STUDY / "logs" / "texture.log",
    threads: 64  # scaled down to --cores locally; set per job in the slurm profile
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        model=config["model"],
        mesh=config["mesh"],
        electrons=config["electrons"],
        magnetization=config["magnetization"],
        texture=config["texture"],
    script:
        "../scripts/texture.py"


rule texture_figures:
    input:
        texture=STUDY / "texture.zarr" / "zarr.json",
    output:
        **{
            key: report(path, caption="../report/texture.rst", category="Domain walls")
            for key, path in TEXTURE_FIGURES.items()
        },
    log:
        STUDY / "logs" / "texture_figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        figures=config["figures"],
    script:
        "../scripts/texture_figures.py"
