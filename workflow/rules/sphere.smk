rule sphere:
    input:
        bands=STUDY / "bands.zarr" / "zarr.json",
        model_files=MODEL_FILES,
    output:
        STUDY / "sphere.zarr" / "zarr.json",
    params:
        model=config["model"],
        mesh=config["mesh"],
        sphere=config["sphere"],
        electrons=config["electrons"],
        magnetization=config["magnetization"],
        ferromagnet=config["ferromagnet"],
    log:
        STUDY / "logs" / "sphere.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../scripts/sphere.py"
