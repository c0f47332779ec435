"""Wannier90 inputs of a user material through the study configuration: every malformed or
inconsistent file is refused with one line naming the file (before anything is written), the
chemical potential must be given (or read from a Fermi energy), and the bands store records
how the model was read."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from magcore.config import ConfigError, validate
from magcore.models.wannier90 import read_fermi_energy

DATA = Path(__file__).resolve().parents[1] / "data" / "wannier90"
FERMI = 3.94  # km.scf.out


@pytest.fixture
def km(tmp_path):
    """A copy of the km fixture files in tmp_path/in (to be spoiled by a test)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in DATA.glob("km*"):
        shutil.copy(f, folder / f.name)
    return folder


def study(tmp_path, source, electrons=None):
    return {"results_dir": str(tmp_path / "results"), "study": "w90",
            "model": {"name": "tight_binding", "source": source},
            "electrons": {"chemical_potential": FERMI} if electrons is None else electrons,
            "mesh": {"n_k": 6}, "sphere": {"n_theta": 3, "n_phi": 2}, "bands": {"path_points": 5}}


def refused(tmp_path, source, *words, electrons=None):
    with pytest.raises(ConfigError) as err:
        validate(study(tmp_path, source, electrons))
    msg = str(err.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert not (tmp_path / "results").exists()
    return msg


def edit(path: Path, fn):
    path.write_text(fn(path.read_text()))


def source(km, **kw):
    return {"hr_dat": str(km / "km_hr.dat"), "spin": "auto", "spinful": True, **kw}


# -- malformed or inconsistent files -----------------------------------------------------------------------

def test_the_km_study_is_accepted(tmp_path, km):
    cfg = validate(study(tmp_path, source(km)))
    assert cfg["electrons"]["chemical_potential"] == FERMI


def test_truncated_wsvec(tmp_path, km):
    edit(km / "km_wsvec.dat", lambda t: "\n".join(t.splitlines()[:-2]) + "\n")
    refused(tmp_path, source(km), "km_wsvec.dat", "truncated")


def test_wsvec_of_another_hr_dat(tmp_path, km):
    edit(km / "km_wsvec.dat", lambda t: t.replace("   -1    0    0    1    1", "   -7    0    0    1    1", 1))
    refused(tmp_path, source(km), "km_wsvec.dat", "R = (-7, 0, 0) is not an R vector of the _hr.dat", "inconsistent")


def test_wsvec_entry_missing(tmp_path, km):
    lines = (km / "km_wsvec.dat").read_text().splitlines()
    n = int(lines[2])  # the first entry's shift count
    (km / "km_wsvec.dat").write_text("\n".join(lines[:1] + lines[3 + n:]) + "\n")
    refused(tmp_path, source(km), "km_wsvec.dat", "no entry for R = (-1, 0, 0), m = 1, n = 1")


def test_wsvec_bad_shift_count(tmp_path, km):
    lines = (km / "km_wsvec.dat").read_text().splitlines()
    lines[2] = "    0"
    (km / "km_wsvec.dat").write_text("\n".join(lines) + "\n")
    refused(tmp_path, source(km), "km_wsvec.dat, line 3", "number of shift vectors must be >= 1")


def test_nan_in_hr_dat(tmp_path, km):
    edit(km / "km_hr.dat", lambda t: t.replace("    0.240000    0.000000", "         NaN    0.000000", 1))
    refused(tmp_path, source(km), "km_hr.dat", "non-finite")


def test_wrong_degeneracy_line(tmp_path, km):
    edit(km / "km_hr.dat", lambda t: t.replace("    2    2    2    1    2    2    2", "    2    2    2    1    2    2    2    1"))
    refused(tmp_path, source(km), "km_hr.dat, line 4", "7 degeneracies expected")


def test_truncated_hr_dat(tmp_path, km):
    edit(km / "km_hr.dat", lambda t: "\n".join(t.splitlines()[:50]) + "\n")
    refused(tmp_path, source(km), "km_hr.dat", "truncated")


def test_non_hermitian_beyond_hermitian_tol(tmp_path, km):
    def spoil(text):
        lines = text.splitlines()
        i = next(i for i, l in enumerate(lines) if l.startswith("   -1    0    0    3    1"))
        v = lines[i].split()
        lines[i] = "".join(f"{int(x):5d}" for x in v[:5]) + f"{float(v[5]) + 1e-3:12.6f}{float(v[6]):12.6f}"
        return "\n".join(lines) + "\n"

    edit(km / "km_hr.dat", spoil)
    refused(tmp_path, source(km), "non-Hermitian hoppings", "tolerance 1e-05")
    validate(study(tmp_path, source(km, hermitian_tol=2e-3)))  # within a looser tolerance: symmetrised


def test_truncated_tb_dat(tmp_path, km):
    edit(km / "km_tb.dat", lambda t: "\n".join(t.splitlines()[:-10]) + "\n")
    refused(tmp_path, {"tb_dat": str(km / "km_tb.dat"), "spin": "auto", "spinful": True}, "km_tb.dat", "truncated")


def test_centres_of_another_model(tmp_path, km):
    edit(km / "km_centres.xyz", lambda t: t.replace("     6\n", "     5\n", 1).replace(
        t.splitlines()[2] + "\n", "", 1))
    refused(tmp_path, source(km), "3 Wannier centres", "num_wann = 4", "inconsistent files")


def test_lattice_given_and_in_the_win_differ(tmp_path, km):
    refused(tmp_path, source(km, lattice_vectors=[[2.6, 0, 0], [1.3, 2.25, 0], [0, 0, 15]]),
            "lattice_vectors differ from those of", "km.win")


def test_win_num_wann_differs(tmp_path, km):
    edit(km / "km.win", lambda t: t.replace("num_wann  = 4", "num_wann  = 8"))
    refused(tmp_path, source(km), "num_wann = 8 in", "inconsistent files")


def test_sparse_file_with_wrong_count(tmp_path, km):
    from magcore.models.tight_binding import read_wannier90_hr
    from magcore.models.wannier90 import write_sparse_hr

    raw = read_wannier90_hr(km / "km_hr.dat")
    write_sparse_hr(km / "sp.dat", raw.R, raw.H, raw.ndegen, drop_tol=1e-12)
    edit(km / "sp.dat", lambda t: "\n".join(t.splitlines()[:-3]) + "\n")
    refused(tmp_path, {"sparse_hr_dat": str(km / "sp.dat"), "spin": "inner", "spinful": True,
                       "lattice_vectors": np.eye(3).tolist()}, "sp.dat", "truncated")


def test_declared_spin_ordering_that_fails_time_reversal(tmp_path, km):
    refused(tmp_path, {"hr_dat": str(km / "km_vasp_hr.dat"), "spin": "inner", "spinful": True,
                       "lattice_vectors": np.eye(3).tolist()},
            "model.source", "fails the time-reversal check", "for outer", "for inner")


# -- the chemical potential -----------------------------------------------------------------------------------

def test_no_chemical_potential_is_an_error_naming_the_keys(tmp_path, km):
    refused(tmp_path, source(km), "electrons.chemical_potential is not given", "electrons.filling",
            "model.source.fermi_energy", electrons={})


def test_fermi_energy_from_a_dft_output_becomes_the_chemical_potential(tmp_path, km):
    cfg = validate(study(tmp_path, source(km, fermi_energy=str(km / "km.scf.out")), electrons={}))
    assert cfg["electrons"]["chemical_potential"] == FERMI
    cfg = validate(study(tmp_path, source(km, fermi_energy=4.0), electrons={}))
    assert cfg["electrons"]["chemical_potential"] == 4.0
    # the .win's fermi_energy, read without being asked for
    edit(km / "km.win", lambda t: t.replace("num_iter  = 0", "num_iter  = 0\nfermi_energy = 3.9"))
    cfg = validate(study(tmp_path, source(km), electrons={}))
    assert cfg["electrons"]["chemical_potential"] == 3.9
    # a given chemical potential wins over the Fermi energy; a filling too
    assert validate(study(tmp_path, source(km)))["electrons"]["chemical_potential"] == FERMI
    assert validate(study(tmp_path, source(km), electrons={"filling": 2}))["electrons"]["chemical_potential"] is None
    # a file without one is refused by name
    (km / "empty.out").write_text("     JOB DONE.\n")
    refused(tmp_path, source(km, fermi_energy=str(km / "empty.out")), "empty.out", "no Fermi energy found",
            electrons={})


@pytest.mark.parametrize("text, value", [
    ("     the Fermi energy is     5.1234 ev\n     the Fermi energy is     5.2000 ev\n", 5.2),
    ("     highest occupied, lowest unoccupied level (ev):     6.0000    7.0000\n", 6.5),
    ("     highest occupied level (ev):     6.2500\n", 6.25),
    (" E-fermi :   5.8830     XC(G=0): -10.9731     alpha+bet : -13.6514\n", 5.883),
    ('<i name="efermi">      4.41273056 </i>\n', 4.41273056),
    ("num_wann = 4\nfermi_energy = -1.5\n", -1.5),
])
def test_fermi_energy_formats(tmp_path, text, value):
    (tmp_path / "out").write_text(text)
    assert read_fermi_energy(tmp_path / "out")[0] == pytest.approx(value, abs=1e-12)


def test_spin_polarised_fermi_energies_are_refused(tmp_path):
    (tmp_path / "out").write_text("     the spin up/dw Fermi energies are     5.1  5.3 ev\n")
    with pytest.raises(ValueError, match="two Fermi energies"):
        read_fermi_energy(tmp_path / "out")


# -- the bands store -------------------------------------------------------------------------------------------

def test_bands_store_records_how_the_model_was_read(tmp_path, km):
    from magcore.settings import StudySettings
    from magcore.stages import bands_dataset

    cfg = validate(study(tmp_path, source(km, fermi_energy=str(km / "km.scf.out"), time_reversal="symmetrize",
                                          exchange=[{"atom": "B", "J": 0.2}]), electrons={}))
    ds, _ = bands_dataset(StudySettings.from_config(cfg))
    a = ds.attrs
    assert float(ds["chemical_potential"]) == FERMI
    assert a["tight_binding_wsvec"]["applied"] is True and a["tight_binding_wsvec"]["file"].endswith("km_wsvec.dat")
    assert a["tight_binding_spin"] == "inner" and a["tight_binding_spin_ordering"].startswith("inner (spin: auto")
    assert a["tight_binding_time_reversal"] == "symmetrize"
    assert a["tight_binding_input_time_reversal_asymmetry"] < 1e-9
    assert a["tight_binding_fermi_energy"] == FERMI and "km.scf.out" in a["tight_binding_fermi_energy_source"]
    assert a["tight_binding_exchange_J_per_orbital"] == [0.2, 0.0]
    json.dumps({k: v for k, v in a.items() if k.startswith("tight_binding")})  # storable as zarr attributes


def test_wsvec_fast_and_line_by_line_parsers_agree(km):
    from magcore.models import wannier90 as w90
    from magcore.models.tight_binding import read_wannier90_hr

    hr = read_wannier90_hr(km / "km_hr.dat")
    text = w90._Text(km / "km_wsvec.dat", "_wsvec.dat")
    fast, lines = w90._parse_wsvec_fast(text, hr.R, 4), w90._parse_wsvec_lines(text, hr.R, 4)
    assert fast is not None and all(np.array_equal(a, b) for a, b in zip(fast, lines))
    assert fast[5] == 80 and fast[6] == 3  # elements moved, most images
    # a blank line is irregular for the fast parser, fine for the other: the same hoppings
    edit(km / "km_wsvec.dat", lambda t: t.replace("\n", "\n\n", 3))
    R1, H1, _ = w90.apply_wsvec(hr.R, hr.H, hr.ndegen, DATA / "km_wsvec.dat")
    R2, H2, _ = w90.apply_wsvec(hr.R, hr.H, hr.ndegen, km / "km_wsvec.dat")
    assert np.array_equal(R1, R2) and np.array_equal(H1, H2)


def test_the_log_says_what_was_read(km, caplog):
    import logging

    from magcore.models.tight_binding import TightBindingModel

    with caplog.at_level(logging.INFO, logger="magcore.models.tight_binding"):
        TightBindingModel(source=source(km, fermi_energy=str(km / "km.scf.out")))
    text = caplog.text
    assert "km_wsvec.dat (Wannier90 >= 3.0 minimal-distance replicas, MDRS)" in text
    assert "spin: auto -> inner" in text and "Fermi energy 3.94 eV" in text
    caplog.clear()
    (km / "km_wsvec.dat").unlink()
    with caplog.at_level(logging.INFO, logger="magcore.models.tight_binding"):
        TightBindingModel(source=source(km))
    assert "no km_wsvec.dat beside" in caplog.text


def test_wannier90_files_named_in_a_hoppings_file_are_relative_to_it(tmp_path, km):
    from magcore.models.tight_binding import TightBindingModel

    (km / "model.yaml").write_text("tb_dat: km_tb.dat\nspin: auto\nspinful: true\nfermi_energy: km.scf.out\n"
                                   "exchange:\n  - {atom: N, J: 0.2}\n")
    model = TightBindingModel(source={"hoppings_file": str(km / "model.yaml")})
    assert model.spin == "inner" and model.fermi_energy == FERMI
    assert model.provenance["wsvec"]["applied"] and model.provenance["exchange_J_per_orbital"] == [0.0, 0.2]
