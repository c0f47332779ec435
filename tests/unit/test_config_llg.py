"""The llg section is checked before any job runs: every key, every term kind, every expression
(evaluated on the sweep grid), record points and minima give a one-line ConfigError naming the key.

The bad inputs below and their messages are the "## llg section" table of docs/bad_input.md;
after changing a message, regenerate it with ``python tests/unit/test_config_llg.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # also as a script

from conftest import REPO, run_snakemake  # noqa: E402

from magcore.config import ConfigError, schema, validate  # noqa: E402
from magcore.llg import ClassifyOptions  # noqa: E402
from magcore.llg.model import TERM_KINDS  # noqa: E402
from magcore.llg.spec import SpecError, check_expression, check_points  # noqa: E402

ON = {"enabled": True}
SPHERE = {"enabled": True, "use_sphere": True}
EDGE = yaml.safe_load((REPO / "config" / "ti_edge_llg.yaml").read_text())


def _edge(**changes):
    """The shipped ti_edge_llg study with llg keys changed (dotted paths, list indices as numbers)."""
    cfg = copy.deepcopy(EDGE)
    for path, value in changes.items():
        node = cfg["llg"]
        *parents, last = path.split(".")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        node[int(last) if isinstance(node, list) else last] = value
    return cfg


def _terms(*terms, base=ON):
    return {"llg": {**base, "model": {"terms": list(terms)}}}


LONG = "+".join(["theta0"] * 100_000)  # a 1e5-term expression

# (input as shown in docs/bad_input.md, config, words the one-line message must contain (a tuple: one of
# them); the first is the key)
BAD = [
    # unknown keys, in every sub-section
    ("llg: {enabld: true}", {"llg": {"enabld": True}}, ["llg.enabld", "enabled"]),
    ("llg.model: {dampng: 0.1}", {"llg": {**ON, "model": {"dampng": 0.1}}}, ["llg.model.dampng", "damping"]),
    ("llg.model: {dampng: 0.1} (llg disabled)", {"llg": {"model": {"dampng": 0.1}}}, ["llg.model.dampng", "damping"]),
    ("llg.model.terms: [{kind: uniaxial, K: 1, axs: [1, 0, 0]}]",
     _terms({"kind": "uniaxial", "K": 1, "axs": [1, 0, 0]}), ["llg.model.terms.0.axs", "axis"]),
    ("llg.model.terms: [{kind: uniaxial, K: 1}, {kind: ti_edge, K_tii: -1}]",
     _terms({"kind": "uniaxial", "K": 1}, {"kind": "ti_edge", "K_tii": -1}), ["llg.model.terms.1.K_tii", "K_ti"]),
    ("llg.model.terms: [{kind: zeeman, feild: [0, 1, 0]}]",
     _terms({"kind": "zeeman", "feild": [0, 1, 0]}), ["llg.model.terms.0.feild", "field"]),
    ("llg.model.terms: [{kind: faraday, B: 0.1, fomr: '2.45'}]",
     _terms({"kind": "faraday", "B": 0.1, "fomr": "2.45"}), ["llg.model.terms.0.fomr", "form", "core"]),
    ("llg.model.terms: [{kind: hemisphere_field, strength: 0.5, widht: 0.02}]",
     _terms({"kind": "hemisphere_field", "strength": 0.5, "widht": 0.02}), ["llg.model.terms.0.widht", "width"]),
    ("llg.model.terms: [{kind: sphere_free_energy, sorce: free_energy}]",
     _terms({"kind": "sphere_free_energy", "sorce": "free_energy"}, base=SPHERE),
     ["llg.model.terms.0.sorce", "source"]),
    ("llg.model.terms: [{kind: sphere_field_induced, electric_field: [1, 0], varible: field_induced_field}]",
     _terms({"kind": "sphere_field_induced", "electric_field": [1, 0], "varible": "field_induced_field"}, base=SPHERE),
     ["llg.model.terms.0.varible", "variable"]),
    ("llg.model.gamma: {sphere: gyromagnetic_ratio, electric_fild: [1, 0]}",
     {"llg": {**SPHERE, "model": {"gamma": {"sphere": "gyromagnetic_ratio", "electric_fild": [1, 0]}}}},
     ["llg.model.gamma.electric_fild", "electric_field"]),
    ("llg.model.torques: [{sphere: torque_gamma, electric_field: [1, 0], scale: 2}]",
     {"llg": {**SPHERE, "model": {"torques": [{"sphere": "torque_gamma", "electric_field": [1, 0], "scale": 2}]}}},
     ["llg.model.torques.0.scale", "electric_field"]),
    ("llg.axes: {theta0: {start: 0, stop: 1, nun: 3}}",
     {"llg": {**ON, "axes": {"theta0": {"start": 0, "stop": 1, "nun": 3}}}}, ["llg.axes.theta0.nun", "num"]),
    ("llg.initial: {theta: 0.1, ph: 0}", {"llg": {**ON, "initial": {"theta": 0.1, "ph": 0}}},
     ["llg.initial.ph", "phi"]),
    ("llg.tail: {fracton: 0.3}", {"llg": {**ON, "tail": {"fracton": 0.3}}}, ["llg.tail.fracton", "fraction"]),
    ("llg.integrator: {rtoll: 1e-6}", {"llg": {**ON, "integrator": {"rtoll": 1e-6}}}, ["llg.integrator.rtoll", "rtol"]),
    ("llg.classify: {fixed_toll: 1e-6}", {"llg": {**ON, "classify": {"fixed_toll": 1e-6}}},
     ["llg.classify.fixed_toll", "fixed_tol"]),
    ("llg.units: {tme: s}", {"llg": {**ON, "units": {"tme": "s"}}}, ["llg.units.tme", "time"]),
    # term kinds, required keys, enums
    ("llg.model.terms: [{kind: bogus}]", _terms({"kind": "bogus"}), ["llg.model.terms.0.kind", "bogus", "uniaxial"]),
    ("llg.model.terms: [{K: 1}]", _terms({"K": 1}), ["llg.model.terms.0", "kind"]),
    ("llg.model.terms: [{kind: uniaxial}]", _terms({"kind": "uniaxial"}), ["llg.model.terms.0", "K"]),
    ("llg.model.terms: [{kind: faraday, B: 0.1, form: '2.42'}]", _terms({"kind": "faraday", "B": 0.1, "form": "2.42"}),
     ["llg.model.terms.0.form", "2.41, 2.45"]),
    ("llg.model.gamma: {sphere: gyro}", {"llg": {**SPHERE, "model": {"gamma": {"sphere": "gyro"}}}},
     ["llg.model.gamma.sphere", "gyromagnetic_ratio"]),
    ("llg.model.torques: [{sphere: torque_x, electric_field: [1, 0]}]",
     {"llg": {**SPHERE, "model": {"torques": [{"sphere": "torque_x", "electric_field": [1, 0]}]}}},
     ["llg.model.torques.0.sphere", "torque_gamma"]),
    ("llg.initial.polar_axis: w", {"llg": {**ON, "initial": {"theta": 0.1, "phi": 0, "polar_axis": "w"}}},
     ["llg.initial.polar_axis", "x, y, z"]),
    ("llg.model.nan_policy: ignore", {"llg": {**ON, "model": {"nan_policy": "ignore"}}},
     ["llg.model.nan_policy", "raise, fill"]),
    # expressions, evaluated on the sweep grid
    ("llg.model.damping: '1/0'", {"llg": {**ON, "model": {"damping": "1/0"}}},
     ["llg.model.damping", "divides by zero"]),
    ("llg.model.damping: '9**9**9**9'", {"llg": {**ON, "model": {"damping": "9**9**9**9"}}},
     ["llg.model.damping", "overflows"]),
    ("llg.model.damping: 'theta0+theta0+...' (1e5 terms)", {"llg": {**ON, "model": {"damping": LONG}}},
     ["llg.model.damping", "at most 1000"]),
    ("llg.model.damping: '1/(theta0-0.3)'", {"llg": {**ON, "model": {"damping": "1/(theta0-0.3)"}}},
     ["llg.model.damping", "not finite", "theta0=0.3"]),
    ("llg.model.damping: 'sqrt(theta0-0.5)'", {"llg": {**ON, "model": {"damping": "sqrt(theta0-0.5)"}}},
     ["llg.model.damping", "not finite", "theta0=0.1"]),
    ("llg.model.damping: 'exp(1000*theta0)'", {"llg": {**ON, "model": {"damping": "exp(1000*theta0)"}}},
     ["llg.model.damping", "not finite"]),
    ("llg.model.damping: '(-8)**(1/3)'", {"llg": {**ON, "model": {"damping": "(-8)**(1/3)"}}},
     ["llg.model.damping", "complex"]),
    ("llg.model.damping: alpha (no such axis)", {"llg": {**ON, "model": {"damping": "alpha"}}},
     ["llg.model.damping", "unknown name 'alpha'", "theta0"]),
    ("llg.model.damping: '2*(theta0'", {"llg": {**ON, "model": {"damping": "2*(theta0"}}},
     ["llg.model.damping", "cannot parse"]),
    ("llg.model.damping: '__import__(\"os\")'", {"llg": {**ON, "model": {"damping": "__import__('os')"}}},
     ["llg.model.damping", "unsupported call"]),
    ("llg.model.damping: 'sin(theta0, 2)'", {"llg": {**ON, "model": {"damping": "sin(theta0, 2)"}}},
     ["llg.model.damping", "1 argument"]),
    ("ti_edge_llg study, llg.model.terms.1.K_ti: K_tii", _edge(**{"model.terms.1.K_ti": "K_tii"}),
     ["llg.model.terms.1.K_ti", "unknown name 'K_tii'"]),
    ("ti_edge_llg study, llg.minima.0.1: 'H_over_K/(1+K_ti)' (K_ti = -1 on the grid)",
     _edge(**{"minima.0.1": "H_over_K/(1+K_ti)"}), ["llg.minima.0.1", "not finite", "K_ti=-1"]),
    ("llg.model.parameters: {A: B}", {"llg": {**ON, "model": {"parameters": {"A": "B"}}}},
     ["llg.model.parameters.A", "unknown name 'B'"]),
    ("llg.model.parameters: {pi: 3}", {"llg": {**ON, "model": {"parameters": {"pi": 3}}}},
     ["llg.model.parameters.pi", "rename"]),
    ("llg.model.magnitude: theta0", {"llg": {**ON, "model": {"magnitude": "theta0"}}},
     ["llg.model.magnitude", "constant"]),
    # wrong types and values
    ("llg.model.damping: true", {"llg": {**ON, "model": {"damping": True}}}, ["llg.model.damping", "must be"]),
    ("llg.model.terms: [{kind: zeeman, field: '1'}]", _terms({"kind": "zeeman", "field": "1"}),
     ["llg.model.terms.0.field", "must be a list"]),
    ("llg.model.magnitude: -1", {"llg": {**ON, "model": {"magnitude": -1}}}, ["llg.model.magnitude", "> 0"]),
    ("llg.t_end: .inf", {"llg": {**ON, "t_end": float("inf")}}, ["llg.t_end", "finite"]),
    ("llg.units: {time: \"1/K\\n\"}", {"llg": {**ON, "units": {"time": "1/K\n"}}},
     ["llg.units.time", "control character"]),
    ("llg.record: {\"a\\tb\": {theta0: 0.1}}", {"llg": {**ON, "record": {"a\tb": {"theta0": 0.1}}}},
     ["llg.record", "control character"]),
    ("llg.tail: {samples: 4}", {"llg": {**ON, "tail": {"samples": 4}}}, ["llg.tail.samples", ">= 8"]),
    ("llg.integrator: {max_step: 0}", {"llg": {**ON, "integrator": {"max_step": 0}}},
     ["llg.integrator.max_step", "> 0"]),
    ("llg.classify: {settle_fraction: 2}", {"llg": {**ON, "classify": {"settle_fraction": 2}}},
     ["llg.classify.settle_fraction", "<= 1"]),
    ("llg.axes: {sin: [1.0]}", {"llg": {**ON, "axes": {"sin": [1.0]}}}, ["llg.axes.sin", "rename"]),
    ("llg.axes: {A: [1.0]} with llg.model.parameters: {A: 2}",
     {"llg": {**ON, "axes": {"A": [1.0]}, "initial": {"m": [0, 0, 1]}, "model": {"parameters": {"A": 2}}}},
     ["llg.axes.A", "llg.model.parameters"]),
    # vector lengths
    ("llg.model.terms: [{kind: uniaxial, K: 1, axis: [1, 0]}]", _terms({"kind": "uniaxial", "K": 1, "axis": [1, 0]}),
     ["llg.model.terms.0.axis", ("too short", "at least 3")]),
    ("llg.model.terms: [{kind: faraday, B: 0.1, axis: [0, 0, 0]}]",
     _terms({"kind": "faraday", "B": 0.1, "axis": [0, 0, 0]}),
     ["llg.model.terms.0.axis", "non-zero"]),
    ("llg.model.damping: [[1, 0, 0], [0, 1, 0]]", {"llg": {**ON, "model": {"damping": [[1, 0, 0], [0, 1, 0]]}}},
     ["llg.model.damping", ("too short", "at least 3")]),
    ("llg.model.terms: [{kind: sphere_field_induced, electric_field: [1, 0, 0]}] (2D model)",
     _terms({"kind": "sphere_field_induced", "electric_field": [1, 0, 0]}, base=SPHERE),
     ["llg.model.terms.0.electric_field", "2 k direction"]),
    ("llg.minima: [[1, 0]]", {"llg": {**ON, "minima": [[1, 0]]}}, ["llg.minima.0", ("too short", "at least 3")]),
    ("llg.minima: [[0, 0, 0]]", {"llg": {**ON, "minima": [[0, 0, 0]]}}, ["llg.minima.0", "non-zero"]),
    # initial
    ("llg.initial: {theta: 0.1}", {"llg": {**ON, "initial": {"theta": 0.1}}}, ["llg.initial.phi", "missing"]),
    ("llg.initial: {m: [0, 0, 1], theta: 1}", {"llg": {**ON, "initial": {"m": [0, 0, 1], "theta": 1}}},
     ["llg.initial.theta", "not both"]),
    ("llg.initial: {m: [0, 0, 0]}", {"llg": {**ON, "initial": {"m": [0, 0, 0]}}}, ["llg.initial.m", "non-zero"]),
    ("llg.initial: {m: [0, 0, 1, 0]}", {"llg": {**ON, "initial": {"m": [0, 0, 1, 0]}}},
     ["llg.initial.m", ("too long", "at most 3")]),
    # record
    ("llg.record: {a: {theta1: 0.1}}", {"llg": {**ON, "record": {"a": {"theta1": 0.1}}}},
     ["llg.record.a.theta1", "no such axis", "theta0"]),
    ("llg.record: {a: {theta0: 0.2}}", {"llg": {**ON, "record": {"a": {"theta0": 0.2}}}},
     ["llg.record.a.theta0", "not on the axis grid", "0.1, 0.3, 0.7, 0.9"]),
    ("llg.record: {a: 0.2}", {"llg": {**ON, "record": {"a": 0.2}}}, ["llg.record.a", "mapping"]),
    # sphere maps
    ("llg.model.gamma: {sphere: gyromagnetic_ratio} with llg.use_sphere: false",
     {"llg": {**ON, "model": {"gamma": {"sphere": "gyromagnetic_ratio"}}}}, ["llg.use_sphere is false"]),
]


def _message(cfg) -> str:
    with pytest.raises(ConfigError) as info:
        validate(copy.deepcopy(cfg))
    return str(info.value)


@pytest.mark.parametrize("label, bad, words", BAD, ids=[label[:60] for label, _, _ in BAD])
def test_bad_llg_input_one_line_error_naming_the_key(label, bad, words):
    started = time.perf_counter()
    message = _message(bad)
    # the whole validation (model build included) takes ~0.05 s; the bound leaves room for a busy machine
    assert time.perf_counter() - started < 2.0, message
    assert "\n" not in message and message.startswith("config error: "), message
    assert len(message) < 400, message
    for word in words:  # a tuple: one of its words
        assert any(w in message for w in ([word] if isinstance(word, str) else word)), (word, message)


@pytest.mark.parametrize("path", sorted((REPO / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_study_validates(path, monkeypatch):
    monkeypatch.chdir(REPO)  # model files are named relative to the repository, where Snakemake runs
    cfg = validate(yaml.safe_load(path.read_text()))
    assert isinstance(cfg["llg"]["model"]["terms"], list)


def test_huge_exponent_returns_quickly():
    started = time.perf_counter()
    with pytest.raises(SpecError, match="overflows"):
        check_expression("9**9**9**9", "llg.model.damping", {"theta0": [0.1, 0.2]})
    message = _message({"llg": {**ON, "model": {"terms": [{"kind": "ti_edge", "K_ti": "9**9**9**9"}]}}})
    assert "llg.model.terms.0.K_ti" in message
    assert time.perf_counter() - started < 2.0


def test_schema_matches_the_library():
    """Term kinds and classification fields in the schema are those of magcore.llg."""
    llg = schema()["properties"]["llg"]
    assert llg["$defs"]["term"]["properties"]["kind"]["enum"] == list(TERM_KINDS)
    assert {f"term_{kind}" for kind in TERM_KINDS} <= set(llg["$defs"])
    classify = llg["properties"]["classify"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(ClassifyOptions)}
    assert {name: node["default"] for name, node in classify.items()} == fields


def test_defaults_are_filled_and_the_sweep_runs_on_them():
    from magcore.llg import sweep_from_config

    cfg = _edge(**{"axes": {"alpha": [0.1], "K_ti": [0.0], "B_over_K": [0.0, 0.1], "H_over_K": [0.0],
                            "theta0": [0.25], "phi0": [0.0]},
                   "record": {"a": {"B_over_K": 0.1}}, "t_end": 5.0, "n_record": 11,
                   "tail": {"samples": 16}})
    llg = validate(cfg)["llg"]
    assert llg["model"]["terms"][0]["axis"] == [1, 0, 0] and llg["model"]["terms"][3]["core"] == 0.0
    assert llg["integrator"]["max_step"] is None and llg["initial"]["m"] is None
    ds = sweep_from_config(llg)
    assert dict(ds.sizes)["B_over_K"] == 2 and ds.trajectory.size == 1
    llg["initial"] = {"m": [1, 1, 0], "theta": None, "phi": None, "polar_axis": "y"}
    ds = sweep_from_config(llg)
    assert abs(float(ds.initial_m.values.reshape(-1, 3)[0, 0]) - 0.5**0.5) < 1e-12


def test_large_grids_are_checked_on_a_sub_grid_with_every_axis_end():
    import numpy as np

    values = {"a": np.linspace(-1, 1, 1001), "b": np.array([3.0, 1.0, 2.0]), "c": np.arange(100.0)}
    pts = check_points(values, limit=2000)
    assert len(pts["a"]) <= 2000
    for name, v in values.items():
        assert pts[name].min() == v.min() and pts[name].max() == v.max()
    full = check_points({"a": np.arange(3.0), "b": np.arange(4.0)})
    assert len(full["a"]) == 12


def test_typo_stops_snakemake_before_any_job(tmp_path):
    cfg = {"study": "typo", "llg": {"enabled": True, "model": {"dampng": 0.1}}}
    expected = _message(cfg)
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(tmp_path / "typo.yaml"), timeout=120)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "results").exists()


# ----------------------------------------------------------------------------- docs/bad_input.md

DOC = REPO / "docs" / "bad_input.md"
HEADING = "## llg section"


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def llg_section() -> str:
    """The "## llg section" of docs/bad_input.md, from the messages the inputs above get."""
    rows = [f"| {_cell(label)} | {_cell(_message(bad))} |" for label, bad, _ in BAD]
    return "\n".join([
        HEADING, "",
        "Generated by `python tests/unit/test_config_llg.py` from the cases of `tests/unit/test_config_llg.py`: each",
        "input (a change to the `llg` section of an otherwise default config, unless a study is named)",
        "and the exact one-line message `magcore.config.validate` raises for it, before any job runs.",
        "", "| input | message |", "| --- | --- |", *rows, "",
    ])


def _split(text: str) -> tuple[str, str, str]:
    """(before, llg section, after) of the document."""
    if HEADING not in text:
        return text, "", ""
    start = text.index(HEADING)
    rest = text[start + len(HEADING):]
    nxt = rest.find("\n## ")
    end = len(text) if nxt < 0 else start + len(HEADING) + nxt + 1
    return text[:start], text[start:end], text[end:]


def write_doc() -> None:
    text = DOC.read_text() if DOC.exists() else "# Bad input and the messages it gets\n\n"
    before, _, after = _split(text)
    if before and not before.endswith("\n\n"):
        before = before.rstrip("\n") + "\n\n"
    DOC.write_text(before + llg_section() + (("\n" + after) if after else ""))


def test_bad_input_doc_lists_the_current_messages():
    assert DOC.exists(), "run python tests/unit/test_config_llg.py"
    _, section, _ = _split(DOC.read_text())
    assert section.strip() == llg_section().strip(), \
        "docs/bad_input.md is out of date: run python tests/unit/test_config_llg.py"



def test_llg_doc_quotes_the_current_docstrings():
    import magcore.llg
    import magcore.llg.spec

    text = (REPO / "docs" / "llg.md").read_text()
    for doc in (magcore.llg.spec.__doc__, magcore.llg.__doc__):
        assert doc.strip("\n") in text


if __name__ == "__main__":
    write_doc()
    print(f"wrote {DOC} ({len(BAD)} llg rows)")
