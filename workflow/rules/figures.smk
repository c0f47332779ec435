rule figures:
    input:
        bands=STUDY / "bands.zarr" / "zarr.json",
        sphere=STUDY / "sphere.zarr" / "zarr.json",
    output:
        fig2_3=report(
            FIGURES["fig2_3"], caption="../report/fig2_3.rst", category="Sphere maps"
        ),
        bands=report(FIGURES["bands"], caption="../report/bands.rst", category="Bands"),
        gap=report(FIGURES["gap"], caption="../report/gap.rst", category="Bands"),
        berry_k=report(
            FIGURES["berry_k"], caption="../report/berry_k.rst", category="Bands"
        ),
        fig2_4=report(
            FIGURES["fig2_4"], caption="../report/fig2_4.rst", category="Sphere maps"
        ),
        field_torque=report(
            FIGURES["field_torque"],
            caption="../report/field_torque.rst",
            category="Sphere maps",
        ),
    log:
        STUDY / "logs" / "figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        figures=config["figures"],
        electric_field=config["electric_field"],
    script:
        "../scripts/figures.py"


# summary.txt: every store, then the warnings of every stage's log; it waits for the figures
# so that their logs are complete
rule summary:
    input:
        stores=[
            STUDY / "bands.zarr" / "zarr.json",
            STUDY / "sphere.zarr" / "zarr.json",
            *TEXTURE_OUTPUTS[:1],
            *LLG_OUTPUTS[:1],
        ],
        figures=[*FIGURES.values(), *TEXTURE_OUTPUTS[1:], *LLG_OUTPUTS[1:]],
    output:
        report(
            STUDY / "summary.txt", caption="../report/summary.rst", category="Summary"
        ),
    log:
        STUDY / "logs" / "summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        logs=[
            STUDY / "logs" / f"{rule}.log"
            for rule in ["bands", "sphere", "figures"]
            + (["texture", "texture_figures"] if TEXTURE_OUTPUTS else [])
            + (["llg", "llg_figures"] if LLG_OUTPUTS else [])
        ],
    script:
        "../scripts/summary.py"
