# Snakemake script of rule `bands`: one library call.
from magcore.stages import configure_logging, store_path, run_bands

if __name__ == "__main__":
    configure_logging(snakemake.log[0])  # noqa: F821
    run_bands(snakemake.config, store_path(snakemake.output[0]))  # noqa: F821
