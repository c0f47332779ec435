# Snakemake script of rule `summary`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import stage_log, store_path
    from magcore.store import write_summary

    from pathlib import Path

    with stage_log(snakemake.log[0]):  # noqa: F821
        own = Path(snakemake.log[0])  # noqa: F821
        stage_logs = sorted(p for p in own.parent.rglob("*.log") if p != own)  # the logs of the stages before
        write_summary([store_path(p) for p in snakemake.input], snakemake.output[0], stage_logs)  # noqa: F821
