# Snakemake script of rule `sweep_point`: one library call (Dask workers are spawned processes,
# hence the __main__ guard).
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from pathlib import Path

    from magcore.stages import stage_log, run_sweep_point

    with stage_log(snakemake.log[0]):  # noqa: F821
        point = snakemake.wildcards.point  # noqa: F821
        run_sweep_point(snakemake.config, point, Path(snakemake.output[0]).parents[1],  # noqa: F821
                        threads=snakemake.threads, mem_mb=snakemake.resources.get("mem_mb"))  # noqa: F821
