"""Store attributes and chunks as the ecosystem reads them (issue 19, units and formats): booleans
and mappings encoded for netCDF and decoded by open_store, CF global attributes, canonical units
(unparsable ones refused), the chunk policy, flag counts in the summary and disabled stages in
the study status."""

import json

import numpy as np
import pytest
import xarray as xr

from magcore.config import validate
from magcore.store import (
    apply_chunks,
    chunk_sizes,
    decode_attrs,
    describe_store,
    encode_attrs,
    now,
    open_store,
    study_status,
    write_store,
)


@pytest.fixture
def cfg(tmp_path):
    return validate({"study": "unit", "results_dir": str(tmp_path / "results"),
                     "model": {"name": "tmd", "material": "MoS2", "parameters": {"J": 0.1}}})


def dataset():
    return xr.Dataset(
        {"e": (("theta", "band"), np.ones((3, 2)), {"long_name": "e", "units": "eV", "equation": "-"}),
         "h": (("theta",), np.arange(3.0), {"long_name": "h", "units": "eV Angstrom^-2 / (eV Angstrom^-1)",
                                          "equation": "2.17", "resolved": True}),
         "flag": (("theta",), np.array([0, 1, 3], dtype=np.uint8),
                  {"long_name": "flags", "units": "1", "equation": "-", "flag_masks": [1, 2],
                   "flag_meanings": "one two"}),
         "cls": (("theta",), np.array([0, 0, 1], dtype=np.int8),
                 {"long_name": "class", "units": "1", "equation": "-", "flag_values": [0, 1],
                  "flag_meanings": "fixed cycle"})},
        coords={"theta": ("theta", np.linspace(0, 1, 3), {"long_name": "polar angle", "units": "rad"}),
                "band": ("band", np.arange(2), {"long_name": "band", "units": "1"})},
        attrs={"model": "tmd", "model_parameters": {"J": 0.1, "a": 3.19}, "length_unit": "Angstrom",
               "filling": -1, "shift": np.float64(0.5)})


def test_encode_and_decode_attrs():
    attrs = {"complete": True, "model_parameters": {"J": 0.1}, "mixed": [1, "x"], "none": None, "n": np.int64(3),
             "masks": [1, 2], "names": ["a", "b"], "text": "{not decoded}"}
    enc = encode_attrs(attrs)
    assert enc["complete"] == 1 and type(enc["complete"]) is int
    assert enc["model_parameters"] == '{"J": 0.1}' and enc["mixed"] == '[1, "x"]' and enc["none"] == "null"
    assert enc["n"] == 3 and type(enc["n"]) is int and enc["masks"] == [1, 2] and enc["names"] == ["a", "b"]
    assert enc["boolean_attrs"] == "complete" and enc["json_attrs"] == "mixed model_parameters none"
    assert encode_attrs(enc) == enc  # idempotent
    dec = decode_attrs(enc)
    assert dec == {**attrs, "n": 3}
    assert dec["complete"] is True
    assert decode_attrs({"complete": True, "config": "{}"}) == {"complete": True, "config": "{}"}  # older stores


def test_written_store_is_netcdf_safe_cf_and_decoded_on_open(tmp_path, cfg):
    path = write_store(dataset(), tmp_path / "sphere.zarr", cfg, now())
    raw = xr.open_zarr(path)
    assert raw.attrs["complete"] == 1 and raw.attrs["model_parameters"] == '{"J": 0.1, "a": 3.19}'
    assert raw.h.attrs["resolved"] == 1 and raw.h.attrs["boolean_attrs"] == "resolved"
    assert raw.h.attrs["units"] == "angstrom**-1" and raw.attrs["length_unit"] == "angstrom"
    assert raw.attrs["Conventions"].startswith("CF-1.")
    assert raw.attrs["title"] == "magcore sphere store of study unit: model tmd (MoS2)"
    assert "sphere stage of study unit" in raw.attrs["history"] and raw.attrs["finished"] in raw.attrs["history"]
    assert "dissertation" in raw.attrs["references"] and "doi:10.1103/PhysRevB.88.085433" in raw.attrs["references"]
    ds = open_store(path)
    assert ds.attrs["complete"] is True and ds.attrs["model_parameters"] == {"J": 0.1, "a": 3.19}
    assert ds.h.attrs["resolved"] is True and "boolean_attrs" not in ds.attrs
    assert json.loads(ds.attrs["config"]) == cfg
    engine = next((e for e, m in (("netcdf4", "netCDF4"), ("h5netcdf", "h5netcdf")) if _has(m)), None)
    if engine is None:
        pytest.skip("no netCDF4 backend")
    raw = raw.load()
    raw.to_netcdf(tmp_path / "s.nc", engine=engine)
    with xr.open_dataset(tmp_path / "s.nc", engine=engine) as back:
        xr.testing.assert_identical(raw, back.load())


def _has(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def test_units_that_do_not_parse_are_refused_before_writing(tmp_path, cfg):
    ds = dataset()
    ds["e"].attrs["units"] = "electronvolts per smoot"
    with pytest.raises(ValueError, match="variable e: units 'electronvolts per smoot' do not parse"):
        write_store(ds, tmp_path / "bands.zarr", cfg, now())
    assert not (tmp_path / "bands.zarr").exists()


def test_chunk_policy_one_size_per_dimension(tmp_path, cfg):
    big = xr.Dataset({"t": (("theta", "phi", "c", "c2", "f"), np.zeros((64, 32, 3, 3, 128))),  # 18 MiB
                      "s": (("theta", "phi"), np.zeros((64, 32))),
                      "k": (("k",), np.zeros(10))})
    sizes = chunk_sizes(big)
    assert sizes == {"theta": 32, "phi": 32, "c": 3, "c2": 3, "f": 128, "k": 10}
    assert chunk_sizes(big, fixed={"theta": 1}) == {"theta": 1, "phi": 32, "c": 3, "c2": 3, "f": 128, "k": 10}
    assert chunk_sizes(big, max_bytes=4 * 2**20)["theta"] == 8
    path = write_store(big, tmp_path / "sphere.zarr", cfg, now())
    back = xr.open_zarr(path)
    assert back.t.encoding["chunks"] == (32, 32, 3, 3, 128) and back.s.encoding["chunks"] == (32, 32)
    lazy = apply_chunks(big.chunk({"theta": 5}), sizes)  # dask chunks follow the zarr chunks
    assert lazy.t.data.chunksize[0] == 32 and lazy.t.encoding["chunks"][0] == 32


def test_summary_counts_every_flag_variable(tmp_path, cfg):
    path = write_store(dataset(), tmp_path / "llg.zarr", cfg, now())
    text = describe_store(open_store(path), "llg")
    assert "   flag one: 2 points" in text and "   flag two: 1 points" in text
    assert "   cls: fixed: 2 points" in text and "   cls: cycle: 1 points" in text
    assert "[angstrom**-1] eq. 2.17" in text and "complete=True" in text


def test_status_shows_stages_the_study_does_not_run_as_disabled(tmp_path, cfg):
    study = tmp_path / "study"
    write_store(dataset(), study / "bands.zarr", cfg, now())
    status = study_status(study)
    assert status["bands"]["state"] == "complete" and status["sphere"]["state"] == "missing"
    assert status["texture"]["state"] == "disabled" and status["llg"]["state"] == "disabled"
    cfg_on = validate({**{k: v for k, v in cfg.items() if k != "texture"}, "texture": {"enabled": True}})
    write_store(dataset(), study / "bands.zarr", cfg_on, now())
    assert study_status(study)["texture"]["state"] == "missing"
    (tmp_path / "empty").mkdir()
    assert study_status(tmp_path / "empty")["llg"]["state"] == "missing"  # no store to read the config from


def test_summary_header_names_the_model_of_a_store_without_a_model_attribute(tmp_path, cfg):
    ds = dataset()
    del ds.attrs["model"]  # a sweep store: no model attributes of its own
    text = describe_store(open_store(write_store(ds, tmp_path / "sphere.zarr", cfg, now())), "sphere")
    assert text.startswith("== sphere: model tmd, complete=True")
