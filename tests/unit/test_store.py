"""magcore.store called directly: atomic writes (temporary sibling, then rename), the completion
flag and the provenance attributes, stale temporaries, replacing an old store, and the status of a
study's stores."""

import datetime as dt
import json
import os

import numpy as np
import pytest
import xarray as xr

from magcore import __version__
from magcore import store as store_module
from magcore.config import config_hash, validate
from magcore.fingerprint import code_fingerprint, fingerprint, input_file_hashes
from magcore.models import get_model
from magcore.store import describe_store, now, open_store, study_config, study_status, write_store, write_summary


@pytest.fixture
def cfg(tmp_path):
    return validate({"study": "unit", "results_dir": str(tmp_path / "results"),
                     "model": {"name": "qwz", "parameters": {"u": -1.0, "J": 0.3}}})


def dataset(offset=0.0):
    return xr.Dataset({"a": ("x", np.arange(3.0) + offset, {"long_name": "a", "units": "1", "equation": "-"}),
                       "b": (("x", "y"), np.ones((3, 2)) * offset,
                             {"long_name": "b", "units": "eV", "equation": "2.10"})},
                      coords={"x": np.arange(3), "y": np.array(["p", "q"], dtype=object)}, attrs={"model": "qwz"})


def leftovers(directory, name):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}.tmp"))


def test_written_under_a_temporary_sibling_then_renamed(tmp_path, cfg, monkeypatch):
    out = tmp_path / "sub" / "bands.zarr"  # the parent folder is created
    seen = []
    original = xr.Dataset.to_zarr

    def spy(self, target, *args, **kwargs):
        target = type(out)(target)
        seen.append(target)
        assert not out.exists(), "the final name must not exist while the store is being written"
        return original(self, target, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_zarr", spy)
    assert write_store(dataset(), out, cfg, now()) == out
    assert seen == [out.with_name(f".bands.zarr.tmp-{os.getpid()}")]
    assert (out / "zarr.json").is_file()
    assert leftovers(out.parent, "bands.zarr") == []
    np.testing.assert_array_equal(open_store(out).a.values, np.arange(3.0))


def test_provenance_attributes_and_completion_flag(tmp_path, cfg):
    model = get_model("qwz", u=-1.0, J=0.3)
    started = now()
    ds = dataset()
    before = dict(ds.attrs)
    write_store(ds, tmp_path / "s.zarr", cfg, started, model=model)
    assert ds.attrs == before  # the caller's dataset is not touched
    back = open_store(tmp_path / "s.zarr")
    attrs = back.attrs
    assert attrs["complete"] is True
    assert attrs["model"] == "qwz"  # the dataset's own attributes are kept
    assert study_config(back) == cfg == json.loads(attrs["config"])
    assert attrs["config_hash"] == config_hash(cfg) and len(attrs["config_hash"]) == 64
    assert attrs["input_files"] == json.dumps(input_file_hashes(cfg), sort_keys=True)
    assert attrs["fingerprint"] == fingerprint(cfg, model, input_file_hashes(cfg))
    assert attrs["model_fingerprint"] == model.fingerprint()
    assert attrs["code_fingerprint"] == code_fingerprint()
    assert attrs["magcore_version"] == __version__ and attrs["magcore_git_revision"]
    assert set(json.loads(attrs["versions"])) == {"numpy", "xarray", "zarr", "dask"}
    assert attrs["host"]
    assert attrs["started"] == started
    finished = dt.datetime.fromisoformat(attrs["finished"])
    assert finished.tzinfo is not None and finished >= dt.datetime.fromisoformat(started)
    # variables keep their metadata through the round trip
    for name, var in back.data_vars.items():
        assert {"long_name", "units", "equation"} <= set(var.attrs), name
    assert back.b.attrs["equation"] == "2.10" and back.b.attrs["units"] == "eV"


def test_fingerprint_attributes_follow_the_model_and_the_config(tmp_path, cfg):
    write_store(dataset(), tmp_path / "a.zarr", cfg, now(), model=get_model("qwz", u=-1.0, J=0.3))
    write_store(dataset(), tmp_path / "b.zarr", cfg, now(), model=get_model("qwz", u=-1.5, J=0.3))
    write_store(dataset(), tmp_path / "c.zarr", cfg, now())  # no model: an empty model fingerprint
    other = validate({**cfg, "study": "other"})
    write_store(dataset(), tmp_path / "d.zarr", other, now(), model=get_model("qwz", u=-1.0, J=0.3))
    write_store(dataset(5.0), tmp_path / "e.zarr", cfg, now(), model=get_model("qwz", u=-1.0, J=0.3))
    a, b, c, d, e = (open_store(tmp_path / f"{n}.zarr").attrs for n in "abcde")
    assert a["model_fingerprint"] != b["model_fingerprint"] and a["fingerprint"] != b["fingerprint"]
    assert c["model_fingerprint"] == "" and c["fingerprint"] not in (a["fingerprint"], b["fingerprint"])
    assert d["config_hash"] != a["config_hash"] and d["fingerprint"] != a["fingerprint"]
    assert d["model_fingerprint"] == a["model_fingerprint"]
    # the fingerprint is of the inputs, not of the data written
    assert e["fingerprint"] == a["fingerprint"] and e["config_hash"] == a["config_hash"]


def test_input_file_contents_enter_the_provenance(tmp_path, monkeypatch):
    from magcore.models.tight_binding import hoppings_from_model, write_wannier90_hr

    monkeypatch.chdir(tmp_path)

    def hr(u):
        write_wannier90_hr(tmp_path / "m_hr.dat", hoppings_from_model(get_model("qwz", u=u), np.zeros(3), 4))

    hr(-1.0)
    cfg = validate({"results_dir": str(tmp_path / "results"),
                    "model": {"name": "tight_binding",
                              "source": {"hr_dat": "m_hr.dat", "lattice_vectors": [[1, 0], [0, 1]], "spin": "none"}},
                    "electrons": {"chemical_potential": 0.0}})
    write_store(dataset(), tmp_path / "a.zarr", cfg, now())
    hr(-1.5)  # same path, same config, other contents
    write_store(dataset(), tmp_path / "b.zarr", cfg, now())
    a, b = open_store(tmp_path / "a.zarr").attrs, open_store(tmp_path / "b.zarr").attrs
    assert list(json.loads(a["input_files"])) == ["m_hr.dat"]
    assert a["config_hash"] == b["config_hash"]
    assert a["input_files"] != b["input_files"] and a["fingerprint"] != b["fingerprint"]


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path, cfg):
    out = tmp_path / "sphere.zarr"
    for stale in (".sphere.zarr.tmp-28031", ".sphere.zarr.tmp-old-28031"):  # a killed write, a killed swap
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "junk").write_text("half written")
    (tmp_path / ".bands.zarr.tmp-1").mkdir()  # another store's temporary: not ours to remove
    write_store(dataset(), out, cfg, now())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bands.zarr.tmp-1", "sphere.zarr"]


def test_an_old_store_is_replaced_whole(tmp_path, cfg):
    out = tmp_path / "sphere.zarr"
    write_store(dataset().assign(only_old=("x", np.zeros(3))), out, cfg, "2000-01-01T00:00:00+00:00")
    write_store(dataset(1.0), out, cfg, now())
    back = open_store(out)
    assert "only_old" not in back  # replaced, not merged
    np.testing.assert_array_equal(back.a.values, np.arange(3.0) + 1)
    assert back.attrs["started"] != "2000-01-01T00:00:00+00:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sphere.zarr"]


def test_a_write_that_fails_leaves_the_old_store_in_place(tmp_path, cfg, monkeypatch):
    out = tmp_path / "sphere.zarr"
    write_store(dataset(), out, cfg, now())
    original = xr.Dataset.to_zarr

    def crash(self, target, *args, **kwargs):
        original(self.isel(x=slice(0, 1)), target, *args, **kwargs)  # something is on disk ...
        raise OSError("disk full")  # ... when the writer dies

    monkeypatch.setattr(xr.Dataset, "to_zarr", crash)
    with pytest.raises(OSError, match="disk full"):
        write_store(dataset(7.0), out, cfg, now())
    np.testing.assert_array_equal(open_store(out).a.values, np.arange(3.0))  # the old store, whole
    assert open_store(out).attrs["complete"] is True
    assert leftovers(tmp_path, "sphere.zarr") == [f".sphere.zarr.tmp-{os.getpid()}"]
    monkeypatch.setattr(xr.Dataset, "to_zarr", original)
    write_store(dataset(2.0), out, cfg, now())  # the next writer cleans up
    assert leftovers(tmp_path, "sphere.zarr") == []
    np.testing.assert_array_equal(open_store(out).a.values, np.arange(3.0) + 2)


@pytest.mark.filterwarnings("ignore:Failed to open Zarr store with consolidated metadata")
def test_study_status_reads_the_completion_flag(tmp_path, cfg):
    study = tmp_path / "study"
    write_store(dataset(), study / "bands.zarr", cfg, now())
    write_store(dataset(), study / "sphere.zarr", cfg, now())
    # a store without the completion flag (an older writer, or one written by hand)
    ds = open_store(study / "sphere.zarr").load()
    ds.attrs["complete"] = False
    ds.to_zarr(study / "texture.zarr", mode="w", zarr_format=3, consolidated=False)
    (study / "llg.zarr").mkdir()
    (study / "llg.zarr" / "zarr.json").write_text("{not json")
    status = study_status(study)
    assert status["bands"]["state"] == "complete" and status["sphere"]["state"] == "complete"
    assert status["bands"]["config_hash"] == config_hash(cfg) and status["bands"]["variables"] == 2
    assert status["texture"]["state"] == "incomplete"
    assert status["llg"]["state"] == "unreadable"
    (study / "llg.zarr" / "zarr.json").unlink()
    assert study_status(study)["llg"]["state"] == "disabled"  # no store, and the study does not run llg
    assert set(store_module.open_study(study)) == {"bands", "sphere"}
    with pytest.raises(FileNotFoundError, match="no study folder"):
        study_status(tmp_path / "nope")


def test_summary_lists_every_variable_with_units_and_equation(tmp_path, cfg):
    write_store(dataset(), tmp_path / "bands.zarr", cfg, now())
    text = describe_store(open_store(tmp_path / "bands.zarr"), "bands")
    assert "complete=True" in text and config_hash(cfg)[:12] in text
    assert "a " in text and "[eV] eq. 2.10" in text
    out = write_summary([tmp_path / "bands.zarr"], tmp_path / "deep" / "summary.txt")
    assert out.read_text().startswith("== bands:")
