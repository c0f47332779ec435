# Snakemake script of rule `llg_figures`: one library call.
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # the repository's magcore, also under --use-conda where it is not pip-installed (and
    # for the Dask worker processes, which inherit PYTHONPATH)
    repo = str(Path(snakemake.scriptdir).resolve().parents[1])  # noqa: F821
    sys.path.insert(0, repo)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))

    from magcore.stages import configure_logging, store_path, run_llg_figures

    configure_logging(snakemake.log[0])  # noqa: F821
    run_llg_figures(snakemake.config, store_path(snakemake.input.llg), dict(snakemake.output.items()))  # noqa: F821
