"""Make a rule's script import magcore from this repository (not another installed copy), also
in the Dask worker processes the script starts (they inherit PYTHONPATH). Snakemake puts this
directory on sys.path of every script it runs."""

import os
import sys
from pathlib import Path


def use_repository(snakemake) -> None:
    repo = str(Path(snakemake.scriptdir).resolve().parents[1])
    if repo not in sys.path:
        sys.path.insert(0, repo)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
