"""Write ``tbmodels_bands.npz``: TBmodels' bands of the silicon sample (``silicon_hr.dat`` +
``silicon_wsvec.dat`` + ``silicon.win``, unpacked from the .gz files beside this script) at
the fractional k-points of an 8^3 Monkhorst-Pack-like mesh and a few off-mesh points.  The test
suite compares magcore's bands with this file where TBmodels is not installed (its dependency
bands-inspect pins numpy < 2), and with TBmodels itself where it is.

    python tests/data/wannier90/tbmodels_silicon/make_reference.py   # needs: pip install tbmodels
"""

import gzip
import tempfile
from pathlib import Path

import numpy as np
import tbmodels

HERE = Path(__file__).resolve().parent


def reference_kpoints() -> np.ndarray:
    """Fractional k-points (rows): the 8^3 grid i/8 and 20 random points (seed 0)."""
    grid = np.stack(np.meshgrid(*[np.arange(8) / 8] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.concatenate([grid, np.random.default_rng(0).uniform(-0.5, 0.5, size=(20, 3))])


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("silicon_hr.dat", "silicon_wsvec.dat", "silicon.win"):
            (Path(tmp) / name).write_bytes(gzip.decompress((HERE / f"{name}.gz").read_bytes()))
        peer = tbmodels.Model.from_wannier_files(hr_file=f"{tmp}/silicon_hr.dat",
                                                 wsvec_file=f"{tmp}/silicon_wsvec.dat",
                                                 win_file=f"{tmp}/silicon.win")
        frac = reference_kpoints()
        np.savez_compressed(HERE / "tbmodels_bands.npz", k_frac=frac, bands_eV=np.array(peer.eigenval(frac)),
                            tbmodels_version=tbmodels.__version__)
