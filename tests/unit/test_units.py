"""magcore.units: the registry that reads the stores' units, their canonical spelling and the
typeset labels (issue 19, units and formats)."""

import pint
import pytest

from magcore import units as U
from magcore.models import MODELS, get_model
from magcore.quantities import E2_OVER_H_SIEMENS, SPHERE_QUANTITIES, units_of


def test_model_units_are_their_own_and_not_what_plain_pint_reads():
    reg = U.registry
    assert reg.Unit("eps0").dimensionality == reg.Unit("eps0").dimensionality
    assert str(reg.Unit("eps0").dimensionality) == "[model_energy]"
    assert str(reg.Unit("a").dimensionality) == "[model_length]"
    assert str(reg.Unit("t").dimensionality) == "[model_hopping]"
    plain = pint.UnitRegistry()
    assert plain.Unit("a") == plain.Unit("year") and plain.Unit("eps0") == plain.Unit("vacuum_permittivity")
    # the old spellings of the stores still read right
    assert reg.Quantity(1, "Angstrom").to("nm").magnitude == pytest.approx(0.1, rel=1e-14)
    assert reg.Quantity(1, "e^2/h").to("S").magnitude == pytest.approx(E2_OVER_H_SIEMENS, rel=1e-12)
    assert reg.Quantity(1, "hbar").to("eV * s").magnitude == pytest.approx(6.582119569e-16, rel=1e-9)


@pytest.mark.parametrize("raw, stored", [
    ("eV Angstrom^-2 / (eV Angstrom^-1)", "angstrom**-1"),
    ("eps0 a^-2 / (eps0 a^-1)", "a**-1"),
    ("hbar Angstrom^-2 / (eV Angstrom^-1)", "hbar * angstrom**-1 * eV**-1"),
    ("eV Angstrom^-2", "eV * angstrom**-2"),
    ("Angstrom", "angstrom"),
    ("Angstrom^2 hbar^-1", "angstrom**2 * hbar**-1"),
    ("e^2/h", "e**2 * planck_constant**-1"),
    ("e^2/h a^-2", "e**2 * planck_constant**-1 * a**-2"),
    ("S/cm", "S * cm**-1"),
    ("eV^-1 Angstrom^-2", "eV**-1 * angstrom**-2"),
    ("1/(1)", "1"),
    ("1", "1"),
    ("eps0 a^0 / (eps0 a^-1)", "a"),
    ("rad", "rad"),
    ("hbar/eV", "hbar * eV**-1"),
])
def test_canonical_spelling(raw, stored):
    assert U.canonical(raw) == stored
    assert U.canonical(stored) == stored  # idempotent
    assert U.same_units(raw, stored)  # the same unit


def test_si_spellings_read_the_same_with_plain_pint():
    """A reader without magcore's registry gets the SI units right."""
    plain = pint.UnitRegistry()
    for text in ("eV * angstrom**-2", "angstrom**-1", "hbar * angstrom**-1 * eV**-1", "S * cm**-1", "rad"):
        assert plain.Quantity(1, text).to_base_units().magnitude == pytest.approx(
            U.registry.Quantity(1, text).to_base_units().magnitude, rel=1e-12), text
    assert plain.Quantity(1, "e**2 * planck_constant**-1").to("S").magnitude == pytest.approx(E2_OVER_H_SIEMENS)


def test_unknown_units_are_refused():
    with pytest.raises(ValueError, match="do not parse"):
        U.canonical("furlongs_per_fortnight")
    with pytest.raises(ValueError, match="do not parse"):
        U.parse("eV ** ** 2")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_catalogue_units_template_of_every_model_parses_and_keeps_its_meaning(name):
    if name == "tight_binding":
        from magcore.models.tight_binding import TightBindingModel

        model = TightBindingModel(lattice_vectors=[[1.0, 0.0], [0.0, 1.0]], positions=[[0, 0]], onsite=[0.0],
                                  hoppings=[(1.0, 0, 0, [1, 0])])
    else:
        model = get_model(name)
    filled = units_of(model)
    for q in SPHERE_QUANTITIES:
        raw = q.units.format(**filled)
        stored = q.attrs(filled)["units"]
        assert stored == U.canonical(stored), (name, q.name)
        assert U.same_units(raw, stored), (name, q.name, raw, stored)
        assert "Angstrom" not in stored and "/" not in stored and "^" not in stored, stored


def test_field_induced_quantities_are_per_unit_eE_simplified():
    filled = units_of(get_model("tmd"))
    by = {q.name: q.attrs(filled)["units"] for q in SPHERE_QUANTITIES}
    assert by["field_induced_field"] == "angstrom**-1"  # (eV A^-2) / (eV A^-1)
    assert by["free_energy"] == "eV * angstrom**-2"
    assert by["density_of_states"] == "eV**-1 * angstrom**-2"
    ti = {q.name: q.attrs(units_of(get_model("ti_edge")))["units"] for q in SPHERE_QUANTITIES}
    assert ti["field_induced_field"] == "1"  # 1D: eps0 a^-1 per eps0 a^-1
    assert ti["free_energy"] == "eps0 * a**-1"


@pytest.mark.parametrize("units, typeset", [
    ("angstrom**-1", r"$\AA^{-1}$"),
    ("eV * angstrom**-2", r"$\mathrm{eV}/\AA^{2}$"),
    ("hbar * angstrom**-1 * eV**-1", r"$\hbar/(\AA\,\mathrm{eV})$"),
    ("e**2 * planck_constant**-1", r"$e^{2}/h$"),
    ("eps0 * a**-2", r"$\varepsilon_0/a^{2}$"),
    ("angstrom**2 * hbar**-1", r"$\AA^{2}/\hbar$"),
    ("eV**-1 * angstrom**-2", r"$\mathrm{eV}^{-1}\,\AA^{-2}$"),
    ("eV Angstrom^-2 / (eV Angstrom^-1)", r"$\AA^{-1}$"),
    ("1", "1"),
])
def test_mathtext_labels(units, typeset):
    assert U.mathtext(units) == typeset


def test_every_label_renders_with_matplotlib():
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    for name in ("tmd", "ti_surface", "qwz", "rashba_fm"):
        filled = units_of(get_model(name))
        for q in SPHERE_QUANTITIES:
            text = U.mathtext(q.attrs(filled)["units"])
            if text.startswith("$"):
                parser.parse(text)  # raises on mathtext it cannot typeset
    assert U.label("gamma", "angstrom**2 * hbar**-1") == r"gamma [$\AA^{2}/\hbar$]"
    assert U.label("m_z", "1") == "m_z"


@pytest.mark.parametrize("key, value, ok", [("energy_unit", "Ry", True), ("length_unit", "bohr", True),
                                            ("energy_unit", "furlong", False), ("length_unit", "smoot", False)])
def test_a_user_models_units_are_checked_before_the_run(tmp_path, monkeypatch, key, value, ok):
    """A tight-binding model's units go into every store's units attributes: one pint cannot
    read (or of the wrong kind) is refused by the config check, not after the run."""
    import numpy as np

    from magcore.config import ConfigError, validate
    from magcore.models.tight_binding import hoppings_from_model, write_wannier90_hr

    monkeypatch.chdir(tmp_path)
    write_wannier90_hr(tmp_path / "q_hr.dat", hoppings_from_model(get_model("qwz", u=-1.0), np.zeros(3), 4))
    cfg = {"model": {"name": "tight_binding", "source": {"hr_dat": "q_hr.dat", "lattice_vectors": [[1, 0], [0, 1]],
                                                         "spin": "none", key: value}}, "electrons": {"filling": 1}}
    if ok:
        validate(cfg)
    else:
        with pytest.raises(ConfigError, match=f"model.source.{key} = '{value}' is not an? (energy|length) unit"):
            validate(cfg)
