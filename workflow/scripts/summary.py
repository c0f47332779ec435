# Snakemake script of rule `summary`: one library call.
if __name__ == "__main__":
    from _bootstrap import use_repository

    use_repository(snakemake)  # noqa: F821

    from magcore.stages import configure_logging, store_path
    from magcore.store import write_summary

    configure_logging(snakemake.log[0])  # noqa: F821
    write_summary([store_path(p) for p in snakemake.input], snakemake.output[0])  # noqa: F821
