# Snakemake script of rule `sweep_llg_figure`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, run_sweep_llg_figure, store_path

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_sweep_llg_figure(snakemake.config, store_path(snakemake.input.llg), snakemake.output[0])  # noqa: F821
