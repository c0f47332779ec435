rule figures:
    input:
        bands=STUDY / "bands.zarr" / "zarr.json",
        sphere=STUDY / "sphere.zarr" / "zarr.json",
    output:
        **FIGURES,
    params:
        figures=config["figures"],
    log:
        STUDY / "logs" / "figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/figures.py"
