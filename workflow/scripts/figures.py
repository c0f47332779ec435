# Snakemake script of rule `figures`: one library call.
from magcore.stages import configure_logging, store_path, run_figures

if __name__ == "__main__":
    configure_logging(snakemake.log[0])  # noqa: F821
    run_figures(snakemake.config, store_path(snakemake.input.bands), store_path(snakemake.input.sphere), dict(snakemake.output.items()))  # noqa: F821
