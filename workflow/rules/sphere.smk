rule sphere:
    input:
        bands=STUDY / "bands.zarr" / "zarr.json",
        model_files=MODEL_FILES,
    output:
        STUDY / "sphere.zarr" / "zarr.json",
    log:
        STUDY / "logs" / "sphere.log",
    threads: 64  # scaled down to --cores locally; set per job in the slurm profile
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        model=config["model"],
        mesh=config["mesh"],
        sphere=config["sphere"],
        electrons=config["electrons"],
        magnetization=config["magnetization"],
        ferromagnet=config["ferromagnet"],
    script:
        "../scripts/sphere.py"
