# Snakemake script of rule `texture_figures`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.figures_stage import run_texture_figures
    from magcore.stages import stage_log, store_path

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_texture_figures(snakemake.config, store_path(snakemake.input.texture), dict(snakemake.output.items()))  # noqa: F821
