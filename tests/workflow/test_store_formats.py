"""The stores of the shipped studies in the formats of the ecosystem (issue 19, units and formats):
every units attribute parses with pint (``magcore.units.registry``) and means the right thing,
every store goes to netCDF and back unchanged, carries the CF global attributes and follows the
chunk policy of docs/design.md; summary.txt covers every store and ``magcore status`` shows the
stages a study does not run as disabled.

The four studies of ``config/`` are run by the real Snakemake once for this module, with their
grids, meshes and sweeps made small (same models, stages, LLG set-up and sweep axes kinds), and
only up to ``summary.txt`` (no figures)."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import REPO

pytestmark = pytest.mark.workflow

STUDIES = ("config", "wte2", "ti_edge_llg", "tmd_sweep")


def _small(name: str) -> dict:
    """The shipped study ``config/<name>.yaml``, made small."""
    cfg = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    cfg = copy.deepcopy(cfg)
    cfg["study"] = f"small_{name}"
    if name == "config":
        cfg["mesh"] = {**cfg["mesh"], "k_cutoff": 40.0, "radial_panels": 6, "radial_order": 4, "n_angle": 4}
        cfg["sphere"] = {"n_theta": 9, "n_phi": 8}
        cfg["llg"]["axes"] = {"theta0": [0.45, 0.55], "phi0": [1.3, 1.5]}
        cfg["llg"]["record"] = {"near_north": {"theta0": 0.45, "phi0": 1.5}}
    elif name == "wte2":
        cfg["mesh"] = {"n_k": 8}
        cfg["sphere"] = {"n_theta": 5, "n_phi": 4}
        cfg["texture"] = {**cfg["texture"], "n_points": 3, "rotation_grid": [3, 3]}
    elif name == "ti_edge_llg":
        cfg["mesh"] = {"k_cutoff": 20.0, "radial_panels": 4, "radial_order": 4}
        cfg["sphere"] = {"n_theta": 5, "n_phi": 4}
        llg = cfg["llg"]
        llg["axes"] = {"alpha": [0.1], "K_ti": [0.0], "B_over_K": [0.0, 0.1], "H_over_K": [0.0],
                       "theta0": [0.25], "phi0": [0.0625, 1.9375]}
        llg["t_end"] = 20.0
        llg["n_record"] = 101
        llg["record"] = {k: v for k, v in llg["record"].items() if k in ("fig2_6_red", "fig2_6_blue")}
    elif name == "tmd_sweep":
        cfg["mesh"] = {"n_k": 8}
        cfg["bands"] = {"path_points": 21}
        cfg["sweep"]["axes"] = {"material": {"values": ["MoS2", "WTe2"]}, "J": {"values": [0.1]},
                                "chemical_potential": {"start": 0.4, "stop": 2.4, "num": 2}}
    return cfg


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """``{study: (workdir, study folder)}``: the four shipped studies, small, run side by side."""
    work = tmp_path_factory.mktemp("shipped")
    procs = {}
    for name in STUDIES:
        cfg = _small(name)
        folder = work / name
        folder.mkdir()
        (folder / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        target = f"results/{cfg['study']}/summary.txt"
        cmd = [sys.executable, "-m", "snakemake", target, "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(folder), "--cores", "1", "--configfile", str(folder / "study.yaml")]
        procs[name] = (subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True), folder / "results" / cfg["study"])
    out = {}
    for name, (proc, study) in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, (name, err[-4000:])
        out[name] = study
    return out


def _stores(shipped):
    for name, study in shipped.items():
        for path in sorted(study.glob("*.zarr")):
            yield name, path


def _registry():
    import magcore.units

    return magcore.units.registry


def test_every_units_attribute_parses_and_quantifies(shipped):
    pytest.importorskip("pint_xarray")
    from magcore.units import canonical, parse

    n = 0
    for name, path in _stores(shipped):
        ds = xr.open_zarr(path)
        for var, v in ds.variables.items():
            units = v.attrs.get("units")
            assert isinstance(units, str) and units, (name, path.name, var)
            assert canonical(units) == units, (name, path.name, var, units)  # stored in the canonical spelling
            parse(units)
        q = ds.pint.quantify(unit_registry=_registry())
        for var in ds.data_vars:
            assert q[var].data.units == parse(ds[var].attrs["units"]), (name, path.name, var)
            n += 1
    assert n > 150


def test_units_mean_the_right_thing(shipped):
    pytest.importorskip("pint_xarray")
    from magcore.quantities import E2_OVER_H_SIEMENS

    ureg = _registry()
    wte2 = xr.open_zarr(shipped["wte2"] / "sphere.zarr")
    assert wte2.free_energy.attrs["units"] == "eV * angstrom**-2"
    assert wte2.field_induced_field.attrs["units"] == "angstrom**-1"  # eV A^-2 per unit eE (eV A^-1)
    assert wte2.berry_curvature_mm_E.attrs["units"] == "hbar * angstrom**-1 * eV**-1"
    sigma = wte2.anomalous_hall_conductivity.isel(theta=0, phi=0).pint.quantify(unit_registry=ureg)
    in_siemens = sigma.pint.to("S")
    np.testing.assert_allclose(in_siemens.pint.magnitude, sigma.pint.magnitude * E2_OVER_H_SIEMENS, rtol=1e-12)
    bands = xr.open_zarr(shipped["wte2"] / "bands.zarr")
    k = bands.mesh_k.pint.quantify(unit_registry=ureg)
    assert k.pint.units.dimensionality == ureg.Unit("1/m").dimensionality
    np.testing.assert_allclose(k.pint.to("1/nm").pint.magnitude, bands.mesh_k.values * 10, rtol=1e-12)
    # the Dirac model's own units: eps0 and a, not the vacuum permittivity and the year
    ti = xr.open_zarr(shipped["config"] / "sphere.zarr").pint.quantify(unit_registry=ureg)
    assert ti.free_energy.pint.units == ureg.Unit("eps0 / a**2")
    assert str(ti.free_energy.pint.units.dimensionality) == "[model_energy] / [model_length] ** 2"
    tex = xr.open_zarr(shipped["wte2"] / "texture.zarr")
    assert tex.y.attrs["units"] == "angstrom" and tex.spin_density_geometric.attrs["units"] == "angstrom**-1"
    sweep = xr.open_zarr(shipped["tmd_sweep"] / "sphere.zarr")
    assert sweep.chemical_potential.attrs["units"] == "eV" and sweep.material.attrs["units"] == "1"


def _netcdf_engine():
    for engine, module in (("netcdf4", "netCDF4"), ("h5netcdf", "h5netcdf")):
        try:
            __import__(module)
            return engine
        except ImportError:
            continue
    pytest.skip("no netCDF4 backend (pip install netCDF4 or h5netcdf)")


def _one_element_lists_as_scalars(ds: xr.Dataset) -> xr.Dataset:
    """netCDF reads an attribute array of one element back as a scalar (texture's flag_masks [2])."""
    for v in ds.variables.values():
        v.attrs = {k: (a[0] if isinstance(a, (list, np.ndarray)) and len(a) == 1 else a) for k, a in v.attrs.items()}
    return ds


def test_every_store_goes_to_netcdf_and_back_unchanged(shipped, tmp_path):
    from magcore.store import decode_dataset_attrs

    engine = _netcdf_engine()
    for name, path in _stores(shipped):
        ds = xr.open_zarr(path).load()
        out = tmp_path / f"{name}_{path.stem}.nc"
        ds.to_netcdf(out, engine=engine)
        with xr.open_dataset(out, engine=engine) as back:
            back = back.load()
        xr.testing.assert_identical(_one_element_lists_as_scalars(ds), back)
        assert decode_dataset_attrs(back).attrs["complete"] is True


def test_cf_global_attributes(shipped):
    for name, path in _stores(shipped):
        attrs = xr.open_zarr(path).attrs
        assert attrs["Conventions"].startswith("CF-"), (name, path.name)
        assert path.stem in attrs["title"] and attrs["history"] and attrs["source"].startswith("magcore")
        assert "dissertation" in attrs["references"], (name, path.name)
        if name in ("wte2", "tmd_sweep"):
            assert "Phys. Rev. B 88, 085433" in attrs["references"]  # Liu et al., the TMD parameters
        for key, value in attrs.items():  # only what netCDF holds
            assert isinstance(value, (str, int, float, list, np.ndarray)) and not isinstance(value, bool), key


def test_chunk_policy(shipped):
    from magcore.sweep import sweep_from_config

    for name, path in _stores(shipped):
        ds = xr.open_zarr(path)
        sizes: dict[str, set] = {}
        for var, v in ds.variables.items():
            for dim, c in zip(v.dims, v.encoding.get("chunks") or v.shape):
                sizes.setdefault(dim, set()).add(c)
        uneven = {d: s for d, s in sizes.items() if len(s) > 1}
        assert not uneven, (name, path.name, uneven)  # sibling variables chunked alike
        if name == "tmd_sweep":
            cfg = yaml.safe_load(ds.attrs["config"])
            expensive = sweep_from_config(cfg).expensive_dims()
            assert set(expensive) == {"material", "J"}
            for dim in expensive:
                assert sizes.get(dim, {1}) == {1}, (path.name, dim)  # one sweep point per chunk
            stacked = [v for v in ds.data_vars if "material" in ds[v].dims]
            assert stacked and all(ds[v].encoding["chunks"][:2] == (1, 1) for v in stacked)


def test_summary_covers_every_store(shipped):
    for name, study in shipped.items():
        text = (study / "summary.txt").read_text()
        for path in study.glob("*.zarr"):
            assert f"== {path.stem}:" in text, (name, path.stem)
    assert "final_class: fixed_point:" in (shipped["config"] / "summary.txt").read_text()


def test_status_shows_disabled_stages(shipped, capsys):
    from magcore.cli import main

    assert main(["status", str(shipped["wte2"])]) == 0
    out = capsys.readouterr().out
    assert "texture  complete" in out and "llg      disabled" in out
    assert main(["status", str(shipped["ti_edge_llg"])]) == 0
    out = capsys.readouterr().out
    assert "texture  disabled" in out and "llg      complete" in out
    assert main(["status", str(shipped["tmd_sweep"])]) == 0
    assert "llg      disabled" in capsys.readouterr().out
    assert main(["status", str(shipped["wte2"].parent / "no_such_study")]) == 2
