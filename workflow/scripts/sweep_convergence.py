# Snakemake script of rule `sweep_convergence`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, run_sweep_convergence, store_path

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_sweep_convergence(snakemake.config, store_path(snakemake.input.sphere),  # noqa: F821
                              store_path(snakemake.output.store), snakemake.output.png,  # noqa: F821
                              snakemake.output.txt)  # noqa: F821
