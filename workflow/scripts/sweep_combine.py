# Snakemake script of rule `sweep_combine`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from pathlib import Path

    from magcore.stages import stage_log, run_sweep_combine, store_path

    with stage_log(snakemake.log[0]):  # noqa: F821
        out = store_path(snakemake.output[0])  # noqa: F821
        run_sweep_combine(snakemake.config, snakemake.wildcards.stage, out.parent / "points", out)  # noqa: F821
