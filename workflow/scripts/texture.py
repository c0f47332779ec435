# Snakemake script of rule `texture`: one library call (Dask workers are spawned processes,
# hence the __main__ guard).
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, store_path, run_texture

    with stage_log(snakemake.log[0]):  # noqa: F821
        run_texture(snakemake.config, store_path(snakemake.input.bands), store_path(snakemake.output[0]), threads=snakemake.threads, mem_mb=snakemake.resources.get("mem_mb"))  # noqa: F821
