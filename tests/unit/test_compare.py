"""magcore compare: bitwise equality of two stores, and the size of any difference."""

import numpy as np
import xarray as xr

from magcore.cli import main as cli_main
from magcore.compare import compare_stores


def _store(path, values, extra=None):
    ds = xr.Dataset({"a": ("x", np.asarray(values, dtype=float)), "n": ("x", np.arange(len(values)))})
    if extra:
        ds[extra] = ("x", np.zeros(len(values)))
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    return path


def test_identical_stores_compare_equal_and_differences_are_sized(tmp_path, capsys):
    a = _store(tmp_path / "a.zarr", [1.0, np.nan, -0.0, 4.0])
    assert cli_main(["compare", str(a), str(_store(tmp_path / "b.zarr", [1.0, np.nan, -0.0, 4.0]))]) == 0
    assert "2 of 2 variables identical" in capsys.readouterr().out

    c = _store(tmp_path / "c.zarr", [1.0, np.nan, -0.0, 4.0 + 4e-12], extra="z")
    assert cli_main(["compare", str(a), str(c)]) == 1
    by_name = {d.name: d for d in compare_stores(a, c)}
    assert by_name["a"].state == "values" and np.isclose(by_name["a"].max_rel, 1e-12, rtol=1e-3)
    assert by_name["z"].state == "only in B" and by_name["n"].state == "identical"
    assert {d.state for d in compare_stores(a, _store(tmp_path / "d.zarr", [1.0, 2.0, 0.0, 4.0]))} >= {"nan pattern"}
    assert compare_stores(a, _store(tmp_path / "e.zarr", [1.0, np.nan, 0.0, 4.0]))[0].state == "values"  # -0 vs +0
    f = xr.open_zarr(_store(tmp_path / "f.zarr", [1.0, np.nan, -0.0, 4.0])).load()
    f["a"].attrs["units"] = "eV"
    f.to_zarr(tmp_path / "g.zarr", mode="w", zarr_format=3, consolidated=False)
    assert [(d.state, d.detail) for d in compare_stores(a, tmp_path / "g.zarr") if d.name == "a"] == [("attributes", "units")]
