# Snakemake script of rule `sweep_figures`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, run_sweep_figures, store_path

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_sweep_figures(snakemake.config, store_path(snakemake.input.sphere), snakemake.output[0])  # noqa: F821
