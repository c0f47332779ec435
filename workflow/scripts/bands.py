# Snakemake script of rule `bands`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, store_path, run_bands

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_bands(snakemake.config, store_path(snakemake.output[0]))  # noqa: F821
