# Snakemake script of rule `summary`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from pathlib import Path

    from magcore.stages import stage_log, store_path
    from magcore.store import write_summary

    with stage_log(snakemake.log[0]):  # noqa: F821
        write_summary(
            [store_path(p) for p in snakemake.input.stores],  # noqa: F821
            snakemake.output[0],  # noqa: F821
            [p for p in map(Path, snakemake.params.logs) if p.exists()],  # noqa: F821
        )
