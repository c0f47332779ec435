# Snakemake script of rule `llg`: one library call (Dask workers are spawned processes,
# hence the __main__ guard).
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # the repository's magcore, also under --use-conda where it is not pip-installed (and
    # for the Dask worker processes, which inherit PYTHONPATH)
    repo = str(Path(snakemake.scriptdir).resolve().parents[1])  # noqa: F821
    sys.path.insert(0, repo)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))

    from magcore.stages import configure_logging, store_path, run_llg

    configure_logging(snakemake.log[0])  # noqa: F821
    run_llg(snakemake.config, store_path(snakemake.input.sphere[0]) if snakemake.input.sphere else None, store_path(snakemake.output[0]), threads=snakemake.threads, mem_mb=snakemake.resources.get("mem_mb"))  # noqa: F821
