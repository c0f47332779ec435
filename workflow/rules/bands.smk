rule bands:
    input:
        model_files=MODEL_FILES,
    output:
        STUDY / "bands.zarr" / "zarr.json",
    log:
        STUDY / "logs" / "bands.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        model=config["model"],
        mesh=config["mesh"],
        sphere=config["sphere"],
        electrons=config["electrons"],
        magnetization=config["magnetization"],
        bands=config["bands"],
    script:
        "../scripts/bands.py"
