"""Bad input of every kind: one line naming the key (or file and line), a non-zero exit, nothing
written.

Three groups: the configurations of ``tests/unit/test_config.py``'s BAD list and of
``tests/unit/test_sweep.py``'s BAD_SWEEPS list (through ``magcore.config.validate``), study
files with YAML-level problems (through ``magcore.config.load`` on a temporary file), and study
files through the real Snakemake.
Together they are the "## Study files and all sections but llg" table of docs/bad_input.md;
after changing a message, regenerate it with ``python tests/unit/test_bad_input.py``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # also as a script

from test_config import BAD  # noqa: E402
from test_sweep import BAD_SWEEPS  # noqa: E402

from magcore.config import ConfigError, load, validate  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NAME = "study.yaml"  # every study file is written under this name, messages quote it

BOMB = "\n".join(["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]) + "\n"
PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
SOURCE = "model: {name: tight_binding, source: {%s: %s, lattice_vectors: [[1, 0], [0, 1]]}}\n"

# (label for docs/bad_input.md, study file content, other files {name: content}, words the
# message must contain, words it must not contain)
FILES = [
    ("duplicate top-level key", "study: a\nstudy: b\n", {}, ["line 2", "duplicate key 'study'", "line 1"], []),
    ("duplicate nested key", "sphere:\n  n_theta: 5\n  n_phi: 4\n  n_theta: 7\n", {},
     ["line 4", "duplicate key 'sphere.n_theta'"], []),
    ("duplicate key in a flow mapping", "model: {name: qwz, name: tmd}\n", {}, ["duplicate key 'model.name'"], []),
    ("duplicate key in a JSON file", '{"study": "a", "study": "b"}\n', {}, ["duplicate key 'study'"], []),
    ("sweep axis given twice", "sweep:\n  axes:\n    J: {values: [0.5]}\n    J: {values: [1.0]}\n", {},
     ["line 4", "duplicate key 'sweep.axes.J'"], []),
    ("sweep values 1e-3 (YAML 1.1 reads them as strings)",
     "sweep:\n  axes:\n    temperature: {values: [0.0, 1e-3]}\n", {},
     ["sweep.axes.temperature = '1e-3'", "write 1.0e+6"], []),
    ("anchor and alias", "a: &x 1\nb: *x\n", {}, ["line 1", "anchors and aliases"], []),
    ("merge key with an alias", "base: &b {n_theta: 5}\nsphere: {<<: *b}\n", {}, ["anchors and aliases"], []),
    ("billion laughs (9 levels of 9 aliases)", BOMB, {}, ["line 1", "anchors and aliases"], []),
    ("unclosed flow sequence", "study: x\nmodel: [unclosed\n", {}, ["line 3", "not valid YAML", "line 2, column 8"], []),
    ("tab indentation", "sphere:\n\tn_theta: 5\n", {}, ["line 2, column 1", "not valid YAML"], []),
    ("bad indentation", "sphere:\n  n_theta: 5\n n_phi: 4\n", {}, ["line 3", "not valid YAML"], []),
    ("two YAML documents", "study: a\n---\nstudy: b\n", {}, ["line 2", "another document"], []),
    ("python object tag", "study: !!python/object/apply:os.system [echo hi]\n", {}, ["line 1", "not valid YAML"], []),
    ("YTE template (__use_yte__: true)", "__use_yte__: true\nstudy: ?f'x'\n", {}, ["__use_yte__", "YTE"], []),
    ("__use_yte__: false", "__use_yte__: false\nstudy: x\n", {}, ["__use_yte__"], []),
    ("binary file (PNG header)", b"\x89PNG\r\n\x1a\n\x00\x00", {}, ["line 1", "not UTF-8"], []),
    ("Latin-1 bytes on line 2", b"study: x\nmodel: {name: caf\xe9}\n", {}, ["line 2", "not UTF-8"], []),
    ("top level is a list", "- study\n- model\n", {}, ["top level must be a mapping"], []),
    ("top level is a string", "just text\n", {}, ["top level must be a mapping"], []),
    ("a 17 MiB file", "#" * (17 * 2**20) + "\n", {}, ["MiB", "at most 16 MiB"], []),
    ("bare `on:` key", "texture: {on: true}\n", {}, ["texture.True", "not a string"], []),
    ("1e6 (YAML 1.1 reads it as a string)", "electrons: {chemical_potential: 1e6}\n", {},
     ["electrons.chemical_potential", "write 1.0e+6"], []),
    ("`.nan` in a list", "bands: {reference_directions_deg: [[0, 0], [.nan, 0]]}\n", {},
     ["bands.reference_directions_deg.1.0 = nan"], []),
    ("`.inf` temperature", "electrons: {temperature: .inf}\n", {}, ["electrons.temperature = inf", "finite"], []),
    ("hr_dat names a password file", SOURCE % ("hr_dat", "passwd"), {"passwd": PASSWD},
     ["passwd, line 2", "not a Wannier90 _hr.dat header"], ["root", "daemon", "/bin"]),
    ("hr_dat names a binary file", SOURCE % ("hr_dat", "seed_hr.dat"), {"seed_hr.dat": b"\x7fELF\x02\x01\x00\x00"},
     ["seed_hr.dat, line 1", "binary"], ["ELF"]),
    ("hr_dat with a terminal escape in a matrix element", SOURCE % ("hr_dat", "seed_hr.dat"),
     {"seed_hr.dat": "hdr\n1\n1\n1\n0 0 0 1 1 0.5 \x1b[2Jx\n"}, ["seed_hr.dat, line 5", "non-numeric", "?[2Jx"],
     ["\x1b"]),
    ("hr_dat with a truncated header", SOURCE % ("hr_dat", "seed_hr.dat"), {"seed_hr.dat": "hdr\n2\n"},
     ["seed_hr.dat, line 3", "truncated"], []),
    ("hoppings_file that is binary", SOURCE % ("hoppings_file", "model.yaml"), {"model.yaml": b"\x00\x01\x02"},
     ["model.yaml, line 1", "not a text file"], []),
    ("hoppings_file with a YAML error", SOURCE % ("hoppings_file", "model.yaml"), {"model.yaml": "onsite: [1\n"},
     ["model.yaml, line 2", "not valid YAML"], []),
    ("hr_dat larger than compute.limits lets be read",
     SOURCE % ("hr_dat", "seed_hr.dat") + "compute: {limits: {max_memory_gb: 1.0e-7}}\n",
     {"seed_hr.dat": "hdr\n1\n1\n1\n" + "0 0 0 1 1 0.5 0.0\n"}, ["model.source.hr_dat", "to be read",
                                                                "compute.limits.max_memory_gb"], []),
    ("hoppings_file with a NaN amplitude", SOURCE % ("hoppings_file", "model.yaml"),
     {"model.yaml": "onsite: [1, -1]\nhoppings: [[.nan, 0, 1, [1, 0]]]\n"}, ["model.source", "not finite"], []),
    ("hoppings_file of unrelated keys", SOURCE % ("hoppings_file", "model.yaml"),
     {"model.yaml": "password: hunter2\ntoken: abc\n"}, ["model.yaml", "2 unknown key(s)", "none of the allowed"],
     ["hunter2", "password", "token"]),
]

# Through the real Snakemake (--configfile): (label, study file, words of the one config-error
# line); None = Snakemake itself refuses the file before the Snakefile runs (its message).
TINY = ("study: tiny\nmesh: {k_cutoff: 40.0, radial_panels: 8, radial_order: 4, n_angle: 4}\n"
        "bands: {path_points: 21}\n")
SNAKEMAKE = [
    ("duplicate key", TINY + "sphere: {n_theta: 5, n_phi: 4, n_theta: 7}\n", ["duplicate key 'sphere.n_theta'"]),
    ("integer given as a float", TINY + "sphere: {n_theta: 5.0, n_phi: 4}\n", ["sphere.n_theta = 5.0", "integer"]),
    ("NaN temperature", TINY + "sphere: {n_theta: 5, n_phi: 4}\nelectrons: {temperature: .nan}\n",
     ["electrons.temperature = nan", "finite"]),
    ("YTE template", "__use_yte__: true\n" + TINY, ["__use_yte__"]),
    ("unclosed flow sequence", TINY + "sphere: [unclosed\n", None),
]


def _message_of_config(bad: dict) -> str:
    try:
        validate(copy.deepcopy(bad))
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"accepted: {bad}")


def _write(folder: Path, content: str | bytes, others: dict) -> Path:
    for name, data in {NAME: content, **others}.items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return folder / NAME


def _message_of_file(content: str | bytes, others: dict) -> str:
    """The one-line message of ``load`` for a study file written (with ``others``) in a fresh
    folder that is the working directory meanwhile."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            _write(Path(tmp), content, others)
            load(NAME)
        except ConfigError as exc:
            return str(exc)
        finally:
            os.chdir(here)
    raise AssertionError(f"accepted: {content!r:.200}")


# ----------------------------------------------------------------------------- validate / load

@pytest.mark.parametrize("label, content, others, words, absent", FILES, ids=[f[0] for f in FILES])
def test_bad_study_file_one_line_error(tmp_path, monkeypatch, label, content, others, words, absent):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, content, others).name)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    assert message.startswith("config error: "), message
    for word in words:
        assert word in message, (word, message)
    for word in absent:
        assert word not in message, (word, message)
    assert not (tmp_path / "results").exists()


def test_at_least_forty_kinds_of_bad_input():
    assert len(BAD) + len(BAD_SWEEPS) + len(FILES) + len(SNAKEMAKE) >= 40


def test_every_bad_config_is_still_refused_by_a_whole_study_file(tmp_path, monkeypatch):
    """validate and load agree: a few BAD configs written as files get the same message."""
    monkeypatch.chdir(tmp_path)
    for bad, _ in BAD[-12:]:
        if all(isinstance(k, str) for k in bad):
            (tmp_path / NAME).write_text(yaml.safe_dump(bad))
            with pytest.raises(ConfigError) as info:
                load(NAME)
            assert str(info.value) == _message_of_config(bad)


# ----------------------------------------------------------------------------- real Snakemake

@pytest.mark.workflow
@pytest.mark.parametrize("label, content, words", SNAKEMAKE, ids=[s[0] for s in SNAKEMAKE])
def test_bad_study_file_stops_snakemake_before_any_job(tmp_path, label, content, words):
    from conftest import run_snakemake

    study = _write(tmp_path, content, {})
    proc = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(study), timeout=120)
    assert proc.returncode != 0
    assert not (tmp_path / "results").exists()
    line = _snakemake_message(proc.stderr, study)
    if words is None:  # refused by Snakemake's own parse, before the Snakefile runs
        assert "not valid JSON or YAML" in line, proc.stderr[-2000:]
    else:
        assert line == _message_of_file(content, {}), proc.stderr[-2000:]
        for word in words:
            assert word in line
    assert _doc_rows()[_snakemake_label(label)] == line, "docs/bad_input.md is out of date: run python tests/unit/test_bad_input.py"


def _snakemake_message(stderr: str, study: Path) -> str:
    """The one line of Snakemake's stderr that carries the refusal, the study file's path
    shortened to its name."""
    lines = [ln for ln in stderr.splitlines() if "config error:" in ln or "not valid JSON or YAML" in ln]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0].strip().replace(str(study), NAME)


def _snakemake_label(label: str) -> str:
    return f"snakemake --configfile: {label}"


# ----------------------------------------------------------------------------- docs/bad_input.md

DOC = REPO / "docs" / "bad_input.md"
TITLE = "# Bad input and the messages it gets"
HEADING = "## Study files and all sections but llg"
NEXT = "## llg section"


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _label(bad: dict) -> str:
    """The config in YAML flow style on one line (JSON where YAML would break a string)."""
    text = yaml.safe_dump(bad, default_flow_style=True, width=float("inf"), sort_keys=False).strip()
    return text if "\n" not in text else json.dumps(bad)


def rows(snakemake_messages: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(input, message) of every case; Snakemake's messages as given (``python
    tests/unit/test_bad_input.py`` runs Snakemake for them), else as they stand in the document."""
    out = [(_label(bad), _message_of_config(bad)) for bad, _ in BAD + BAD_SWEEPS]
    out += [(f"study file: {label}", _message_of_file(content, others)) for label, content, others, _, _ in FILES]
    known = _doc_rows() if snakemake_messages is None else snakemake_messages
    out += [(_snakemake_label(label), known.get(_snakemake_label(label), "?")) for label, *_ in SNAKEMAKE]
    return out


def section(table: list[tuple[str, str]]) -> str:
    lines = [
        HEADING, "",
        "Generated by `python tests/unit/test_bad_input.py` from the cases of `tests/unit/test_config.py` (BAD: a",
        "change to an otherwise default config, through `magcore.config.validate`), of `tests/unit/test_sweep.py`",
        "(BAD_SWEEPS: the same for the `sweep` section) and",
        "`tests/unit/test_bad_input.py` (study files through `magcore.config.load`, and through the real",
        "`snakemake --configfile`, whose study files also set `study: tiny` and a small mesh): each input",
        "and the exact one-line message, raised before any job runs and before anything is written",
        "(Snakemake exits non-zero and `results/` is not created).",
        "",
        "Two things happen in Snakemake before the Snakefile (and so magcore) sees a study file:",
        "",
        "- A file Snakemake cannot parse is refused with Snakemake's own message, which names neither",
        "  the file nor the line (last row); the Snakefile cannot catch it, as it is not run yet.",
        "  `python -m magcore.config study.yaml` checks a study file as the workflow does and reports",
        "  the line and column.",
        "- A file with `__use_yte__: true` is run as a YTE template, that is, its Python expressions are",
        "  evaluated, also under `snakemake -n`, before magcore refuses it. Study files are code to",
        "  Snakemake: only run study files you trust.",
        "",
        "| input | message |", "| --- | --- |",
        *(f"| {_cell(a)} | {_cell(b)} |" for a, b in table),
        "",
    ]
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    """(before, this section, after) of the document."""
    if HEADING not in text:
        at = text.find(NEXT)
        return (text, "", "") if at < 0 else (text[:at], "", text[at:])
    start = text.index(HEADING)
    nxt = text.find("\n## ", start + len(HEADING))
    end = len(text) if nxt < 0 else nxt + 1
    return text[:start], text[start:end], text[end:]


def _doc_rows() -> dict[str, str]:
    """{input: message} of this section's table as it stands in the document."""
    if not DOC.exists():
        return {}
    out = {}
    for line in _split(DOC.read_text())[1].splitlines():
        if line.startswith("| `"):
            a, b = line[3:-3].split("` | `", 1)
            out[a.replace("\\|", "|")] = b.replace("\\|", "|")
    return out


def write_doc() -> None:
    """Rewrite this section of docs/bad_input.md (above the llg section), running Snakemake for
    its rows."""
    messages = {}
    with tempfile.TemporaryDirectory() as tmp:
        from conftest import run_snakemake

        for i, (label, content, _) in enumerate(SNAKEMAKE):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            study = _write(folder, content, {})
            proc = run_snakemake(folder, "--cores", "1", "--configfile", str(study), timeout=120)
            messages[_snakemake_label(label)] = _snakemake_message(proc.stderr, study)
    text = DOC.read_text() if DOC.exists() else TITLE + "\n\n"
    before, _, after = _split(text)
    before = before.rstrip("\n") + "\n\n"
    DOC.write_text(before + section(rows(messages)) + (("\n" + after) if after else ""))


def test_bad_input_doc_lists_the_current_messages():
    assert DOC.exists(), "run python tests/unit/test_bad_input.py"
    table = rows()
    assert all(message != "?" for _, message in table), "run python tests/unit/test_bad_input.py (Snakemake rows)"
    assert _split(DOC.read_text())[1].strip() == section(table).strip(), \
        "docs/bad_input.md is out of date: run python tests/unit/test_bad_input.py"


if __name__ == "__main__":
    write_doc()
    print(f"wrote {DOC} ({len(BAD) + len(BAD_SWEEPS) + len(FILES) + len(SNAKEMAKE)} rows)")
