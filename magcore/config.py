"""Study configuration: load, fill defaults and validate against the JSON schema.

The schema is ``workflow/schemas/config.schema.yaml`` (shipped in the package as
``magcore/data/config.schema.yaml``).  Errors are one line, naming the key and what is allowed,
and are raised before anything is computed or written.

Study files are read by :func:`read_study_file`, a strict YAML reader: duplicate keys, anchors
and aliases, YTE templates (``__use_yte__``) and non-UTF-8 bytes are refused, and a syntax
error names its line and column.  :func:`validate` then refuses non-finite numbers anywhere,
floats given for integers, values beyond the bounds of the schema, vectors of the wrong length
for the model, study names outside ``results_dir`` and studies whose estimated memory or work
(:mod:`magcore.budget`) exceed ``compute.limits``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key and what is allowed."""


def schema() -> dict:
    """The configuration JSON schema as a dict (a fresh copy: callers may change it)."""
    return copy.deepcopy(_schema())


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("magcore").joinpath("data/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _is_integer(checker, instance) -> bool:
    """JSON-schema "integer" for a study file: a Python int, not a float with an integral
    value (jsonschema's own checker accepts 9.0) and not a bool."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    _with_defaults(jsonschema.Draft202012Validator),
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

# Largest integer a config may hold: every integer is used as (or multiplied into) a float,
# and beyond 2**53 a float no longer holds it exactly.
MAX_INTEGER = 2**53


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _show(value: Any, limit: int = 60) -> str:
    """repr of a config value for a message: one line, at most ``limit`` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"{float(value):.3g}" if abs(value) < 10**300 else f"<an integer of {len(str(abs(value)))} digits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _check_values(config: Any, path: tuple = ()) -> None:
    """Refuse, anywhere in the configuration, numbers that no key can use: NaN and infinities
    (they pass every ``minimum``/``maximum`` of the schema), integers beyond
    :data:`MAX_INTEGER`, and mapping keys that are not strings (YAML reads bare on/off/yes/no,
    true/false and numbers as booleans and numbers)."""
    seen: set[int] = set()

    def walk(node: Any, where: tuple) -> None:
        if isinstance(node, (dict, list)):
            if id(node) in seen:  # a shared container (YAML alias) is checked once
                return
            seen.add(id(node))
        if isinstance(node, dict):
            for name, value in node.items():
                if not isinstance(name, str):
                    raise ConfigError(f"config error: {_key(where + (name,))}: key {_show(name)} is not a string "
                                      "(YAML reads bare on/off/yes/no/true/false and numbers as non-strings; "
                                      "quote the key)")
                walk(value, where + (name,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, where + (i,))
        elif isinstance(node, float) and not math.isfinite(node):
            raise ConfigError(f"config error: {_key(where)} = {node!r}: must be a finite number "
                              "(NaN and infinities are not allowed)")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INTEGER:
            raise ConfigError(f"config error: {_key(where)} = {_show(node)}: too large "
                              f"(integers are limited to {MAX_INTEGER} in magnitude)")

    walk(config, path)


def _message(error: jsonschema.ValidationError) -> str:
    where = _key(error.absolute_path)
    shown = _show(error.instance)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted((str(e) for e in set(error.instance) - set(allowed)))
        if allowed:
            prefix = f"{where}." if error.absolute_path else ""
            return (f"config error: unknown key {', '.join(prefix + e for e in extra)}; "
                    f"allowed keys here: {', '.join(allowed)}")
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if error.validator in bounds:
        return f"config error: {where} = {shown}: must be {bounds[error.validator]} {error.validator_value:g}"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names = {"number": "a number", "integer": "an integer", "string": "a string", "object": "a mapping",
                 "array": "a list", "boolean": "true or false", "null": "null"}
        hint = ""
        if isinstance(error.instance, str) and {"number", "integer"} & set(kinds):
            try:
                float(error.instance)
                hint = " (YAML reads a number like 1e6 as a string: write 1.0e+6)"
            except ValueError:
                pass
        return f"config error: {where} = {shown}: must be {' or '.join(names.get(k, k) for k in kinds)}{hint}"
    if error.validator == "enum":
        return f"config error: {where} = {shown} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
    if error.validator == "maxItems" and isinstance(error.instance, list):
        return f"config error: {where} has {len(error.instance)} entries: at most {error.validator_value} allowed"
    if error.validator == "pattern":
        return f"config error: {where} = {shown} does not match {error.validator_value!r}"
    text = f"config error: {where}: {error.message}"
    return text if len(text) <= 300 else text[:296] + " ..."


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return a validated deep copy of ``config`` with every default filled in.

    Raises :class:`ConfigError` with a one-line message on the first (most relevant) problem.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"config error: the configuration must be a mapping, got {type(config).__name__}")
    _check_values(config)  # before the schema: NaN passes every minimum and maximum
    resolved = copy.deepcopy(config)
    errors = list(_Validator(schema()).iter_errors(resolved))
    if errors:
        raise ConfigError(_message(jsonschema.exceptions.best_match(errors)))
    _check_semantics(resolved, given=config)
    if resolved["sweep"]:  # its axes, and every axis value as a single-point study
        from .sweep_spec import check as check_sweep

        check_sweep(resolved, validate, ConfigError)
    return resolved


# Largest magnitude of an energy, length or inverse length in model units (see the schema's
# top description): far beyond any model's bandwidth, far below where the band sums overflow.
ENERGY_LIMIT = 1.0e6


def _check_semantics(cfg: dict[str, Any], given: dict[str, Any] | None = None) -> None:
    """Checks beyond the schema, on the resolved ``cfg``; ``given`` is the configuration as
    written (to tell a value given from a default)."""
    from .models import MODELS

    given = cfg if given is None else given
    _check_strings(cfg)
    _check_study_folder(cfg)
    model = cfg["model"]
    cls = MODELS[model["name"]]
    allowed = [p.name for p in cls.parameters]
    if allowed or model["name"] != "tight_binding":
        for name in model["parameters"]:
            if name not in allowed:
                raise ConfigError(
                    f"config error: model.parameters.{name} is not a parameter of model "
                    f"{model['name']!r}; allowed: {', '.join(allowed)}"
                )
    if model["material"] is not None and model["name"] != "tmd":
        raise ConfigError(f"config error: model.material is only for model tmd, not {model['name']!r}")
    if model["source"] is not None and model["name"] != "tight_binding":
        raise ConfigError(f"config error: model.source is only for model tight_binding, not {model['name']!r}")
    if model["name"] == "tight_binding" and model["source"] is None:
        raise ConfigError("config error: model.source is required for model tight_binding "
                          "(e.g. {hr_dat: seed_hr.dat, lattice_vectors: ...})")
    where = "model.source" if model["source"] is not None else "model"
    from .budget import check as check_budget

    problem = check_budget(cfg)  # the model's files, before they are read
    if problem:
        raise ConfigError(problem)
    try:
        from .study import model_from_config

        built = model_from_config(cfg)
    except (ValueError, TypeError, OSError, KeyError, IndexError, ArithmeticError) as exc:
        raise ConfigError(f"config error: {where}: {exc}".splitlines()[0]) from None
    if model["source"] is not None:
        _check_source(model["source"], built)
    if cfg["texture"]["enabled"] and (built.domain != "lattice" or built.dim != 2):
        raise ConfigError(f"config error: texture.enabled needs a 2D lattice model, not {model['name']!r}")
    _check_vector_lengths(cfg, given, built)
    _check_mesh(cfg, built)
    el = cfg["electrons"]
    if el["chemical_potential"] is not None and el["filling"] is not None:
        raise ConfigError("config error: electrons.chemical_potential and electrons.filling are both "
                          "given; give one or the other")
    if model["name"] == "tight_binding":
        _user_chemical_potential(cfg, built)
        _user_units(built)
    if el["filling"] is not None and not el["filling"] < built.n_bands:
        raise ConfigError(f"config error: electrons.filling = {el['filling']}: must be < the number of "
                          f"bands of {model['name']!r} ({built.n_bands})")
    for i, (theta, phi) in enumerate(cfg["bands"]["reference_directions_deg"]):
        if not 0 <= theta <= 180:
            raise ConfigError(
                f"config error: bands.reference_directions_deg.{i} theta = {theta} must be in [0, 180]"
            )
    comp = cfg["compute"]
    if comp["dask_cluster"] == "scheduler" and not comp["dask_scheduler"]:
        raise ConfigError("config error: compute.dask_scheduler is required when compute.dask_cluster is 'scheduler'")
    problem = check_budget(cfg, built)  # before the llg checks, which evaluate on the sweep grid
    if problem:
        raise ConfigError(problem)
    _check_llg(cfg, built)
    _check_writable(cfg["results_dir"])
    _check_chemical_potential(cfg, built)


def _user_units(built) -> None:
    """A user model's energy and length units go into the units attribute of every store: they
    must be units magcore.units.registry (pint) reads, refused here rather than after the run."""
    from .units import canonical, parse

    for key, kinds, examples in (("energy_unit", ("eV", "eps0", "t"), "eV, meV, Ry, hartree"),
                                 ("length_unit", ("angstrom", "a"), "angstrom, nm, bohr")):
        value = getattr(built, key)
        try:
            canonical(value)
            ok = parse(value).dimensionality in [parse(k).dimensionality for k in kinds]
        except ValueError:
            ok = False
        if not ok:
            kind = "an energy" if key == "energy_unit" else "a length"
            raise ConfigError(f"config error: model.source.{key} = {value!r} is not {kind} unit pint reads "
                              f"(e.g. {examples})")


def _user_chemical_potential(cfg: dict[str, Any], built) -> None:
    """A user model's energies are absolute (a DFT file's zero is arbitrary): its chemical
    potential must be given, as electrons.chemical_potential, electrons.filling or a Fermi energy
    (model.source.fermi_energy: a number, or a file such as a Quantum ESPRESSO output, a VASP
    OUTCAR or the .win's fermi_energy), which then becomes electrons.chemical_potential."""
    el = cfg["electrons"]
    if el["chemical_potential"] is not None or el["filling"] is not None:
        return
    try:
        from .sweep_spec import axis_names_by_path

        swept = set(axis_names_by_path(cfg))
    except Exception:  # noqa: BLE001 - a bad sweep section is reported by its own check
        swept = set()
    if {("electrons", "chemical_potential"), ("electrons", "filling")} & swept:
        return
    fermi = getattr(built, "fermi_energy", None)
    if fermi is None:
        raise ConfigError("config error: electrons.chemical_potential is not given for model tight_binding: a user "
                          "model's energies are absolute, so give electrons.chemical_potential, electrons.filling "
                          "or model.source.fermi_energy (a number, or a file: QE scf.out, VASP OUTCAR, a .win)")
    el["chemical_potential"] = float(fermi)


def _check_strings(cfg: dict[str, Any]) -> None:
    """No control characters (newlines, NUL, escapes) in any string outside the llg section:
    they are folder and file names, addresses and job-script lines (the schema's patterns let
    a trailing newline through)."""

    def walk(node: Any, where: tuple) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if where or name != "llg":
                    walk(value, where + (name,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, where + (i,))
        elif isinstance(node, str) and any(ord(c) < 32 or ord(c) == 127 for c in node):
            raise ConfigError(f"config error: {_key(where)} = {_show(node)}: contains a control character")

    walk(cfg, ())


def _check_study_folder(cfg: dict[str, Any]) -> None:
    """<results_dir>/<study> must be a folder strictly inside results_dir."""
    import os

    name = cfg["study"]
    root = os.path.normpath(os.path.abspath(cfg["results_dir"]))
    target = os.path.normpath(os.path.join(root, name))
    if set(name) == {"."} or os.path.dirname(target) != root:
        raise ConfigError(f"config error: study = {name!r}: must name a folder inside results_dir "
                          f"({cfg['results_dir']!r}), not '.', '..' or dots only")


def _check_source(source: Any, built) -> None:
    """A tight-binding model built from model.source: amplitudes within :data:`ENERGY_LIMIT`,
    and no orbital that only an on-site energy declares (a hopping list without positions
    takes its orbital count from onsite, so an extra entry silently adds a flat band)."""
    import numpy as np

    from .models.tight_binding import _parse_hop, _spec_to_kwargs

    size = float(np.abs(built.hoppings().H).max(initial=0.0))
    if not np.isfinite(size):
        raise ConfigError("config error: model.source: a hopping or on-site amplitude is not finite (NaN or inf)")
    if not size <= ENERGY_LIMIT:
        raise ConfigError(f"config error: model.source: a hopping or on-site amplitude of size {size:.3g} "
                          f"exceeds {ENERGY_LIMIT:g} (model energy unit)")
    if not abs(built.J) <= ENERGY_LIMIT:
        raise ConfigError(f"config error: model.source.J = {built.J:g}: must be within +-{ENERGY_LIMIT:g}")
    if not isinstance(source, dict) or any(k in source for k in ("hr_dat", "tb_dat", "sparse_hr_dat")):
        return  # matrix input: no on-site list
    try:
        spec = _spec_to_kwargs(source)
        onsite, hoppings = spec.get("onsite"), spec.get("hoppings")
        if onsite is None or hoppings is None or spec.get("positions") is not None:
            return
        used = set()
        for i, entry in enumerate(hoppings):
            _, a, b, _ = _parse_hop(entry, i)
            used |= {a, b}
        n_orb = len(onsite)
    except (ValueError, TypeError, OSError, KeyError):  # the build above accepted it
        return
    unused = [a for a in range(n_orb) if a not in used]
    if unused:
        raise ConfigError(f"config error: model.source.onsite has {n_orb} entries but no hopping involves "
                          f"orbital(s) {', '.join(map(str, unused[:5]))}: give one on-site energy per "
                          "orbital (or positions for every orbital to keep an isolated one)")


def _check_vector_lengths(cfg: dict[str, Any], given: dict[str, Any], built) -> None:
    """The study's electric field has at most one entry per k direction of the model (missing
    trailing entries are 0 wherever it is used).  A field given as figures.electric_field is
    moved to the top-level key, so that both spellings resolve to the same configuration."""
    alias = cfg["figures"]["electric_field"]
    if alias is not None:
        if "electric_field" in given and [float(x) for x in given["electric_field"]] != [float(x) for x in alias]:
            raise ConfigError(f"config error: figures.electric_field = {_show(alias)} and electric_field = "
                              f"{_show(given['electric_field'])} differ: give electric_field only")
        cfg["electric_field"] = copy.deepcopy(alias)
        cfg["figures"]["electric_field"] = None
    key = "figures.electric_field" if alias is not None else "electric_field"
    field = cfg["electric_field"]
    if len(field) > built.dim:
        raise ConfigError(f"config error: {key} has {len(field)} entries but model "
                          f"{cfg['model']['name']!r} has {built.dim} k direction(s): give at most "
                          f"{built.dim} (missing trailing entries are 0)")


def _check_mesh(cfg: dict[str, Any], built) -> None:
    """The graded radial rule of continuum models must not underflow its innermost panel edge."""
    mesh = cfg["mesh"]
    if built.domain == "continuum" and mesh["grading"] ** mesh["radial_panels"] < 1e-30:
        raise ConfigError(f"config error: mesh.radial_panels = {mesh['radial_panels']}: the innermost panel "
                          f"would start at k_cutoff * grading^radial_panels = k_cutoff * "
                          f"{mesh['grading'] ** mesh['radial_panels']:.2g}, below 1e-30 k_cutoff; use fewer "
                          "panels or a grading closer to 1")


def _check_chemical_potential(cfg: dict[str, Any], built) -> None:
    """A chemical potential (given, or the mu = 0 of null) must lie within the model's bands on
    a sample of the mesh, at each of the magnetization directions +-x, +-y, +-z: beyond them
    every state is filled or every state empty, every band sum vanishes and the gap at mu (the
    gap map) is undefined.  The sample is part of the mesh, so its range lies within the
    mesh's: a mu it accepts has states on both sides on the mesh itself."""
    import numpy as np

    el = cfg["electrons"]
    if el["filling"] is not None:
        return
    from .budget import mesh_sample

    mu = 0.0 if el["chemical_potential"] is None else float(el["chemical_potential"])
    q = mesh_sample(cfg, built, max_points=max(64, min(4096, int(2e6 / built.n_bands**3))))
    lows, highs = [], []
    for axis in np.vstack([np.eye(3), -np.eye(3)]):
        m = cfg["magnetization"]["magnitude"] * axis
        with np.errstate(all="ignore"):
            E = np.linalg.eigvalsh(built.hamiltonian_uncompiled(built.k_center(m) + q, m))
        lows.append(float(E.min()))
        highs.append(float(E.max()))
    low, high = max(lows), min(highs)
    if not low <= mu < high:
        shown = "null (mu = 0)" if el["chemical_potential"] is None else f"{mu:g}"
        raise ConfigError(
            f"config error: electrons.chemical_potential = {shown}: outside the bands of model "
            f"{cfg['model']['name']!r} on the mesh (from {low:.4g} to {high:.4g} at every direction of m "
            "sampled): every state would be filled or every state empty; choose mu within the bands "
            "or set electrons.filling")


def _uses_sphere(spec) -> bool:
    if isinstance(spec, dict):
        return "sphere" in spec or any(
            _uses_sphere(v) for k, v in spec.items() if k != "parameters") or str(spec.get("kind", "")).startswith("sphere")
    if isinstance(spec, list):
        return any(_uses_sphere(v) for v in spec)
    return False


def _check_llg(cfg: dict[str, Any], model) -> None:
    """The llg section beyond the schema (magcore.llg.spec: expressions evaluated on the sweep
    grid, vectors, initial, minima, record points), whether or not the stage is enabled; when
    it is, the sphere store it will read and one build of the model (without sphere maps)."""
    llg = cfg["llg"]
    needs = _uses_sphere(llg["model"])
    if needs and not llg["use_sphere"]:
        raise ConfigError("config error: llg.model uses sphere maps ({sphere: ...} or sphere_* terms) but "
                          "llg.use_sphere is false")
    _check_llg_spec(cfg, model)
    if not llg["enabled"]:
        return
    if llg["sphere_store"] is not None:
        if not llg["use_sphere"]:
            raise ConfigError("config error: llg.sphere_store is given but llg.use_sphere is false")
        path = Path(llg["sphere_store"])
        if not (path / "zarr.json").exists():
            raise ConfigError(f"config error: llg.sphere_store = {llg['sphere_store']!r}: no zarr store there")
        import json

        from .attrs import decode_attrs

        meta = json.loads((path / "zarr.json").read_text())
        attrs = decode_attrs(meta.get("attributes", {}))  # model_parameters: a JSON string in the store
        mine = {"model": cfg["model"]["name"], "model_parameters": dict(model.params),
                "model_material": str(getattr(model, "material", ""))}
        theirs = {key: attrs.get(key) for key in mine}
        if theirs != mine:
            raise ConfigError(f"config error: llg.sphere_store = {llg['sphere_store']!r} is from another model "
                              f"({theirs['model']} {theirs['model_parameters']}), not {mine['model']} {mine['model_parameters']}")
    if not needs:
        from .llg import build_llg
        from .llg.sweep import axis_values

        first = {name: axis_values(values)[:1] for name, values in llg["axes"].items()}
        try:
            build_llg(llg["model"], first, electric_field=cfg["electric_field"])
        except (ValueError, TypeError, KeyError, NameError, SyntaxError, ArithmeticError) as exc:
            raise ConfigError(f"config error: llg.model: {exc}".splitlines()[0]) from None


def _check_llg_spec(cfg: dict[str, Any], model) -> None:
    """magcore.llg.spec.check_llg on the resolved section, its errors as ConfigError."""
    from .llg.spec import SpecError, check_llg

    llg = cfg["llg"]
    try:
        check_llg(llg, n_field=getattr(model, "dim", None), electric_field=cfg["electric_field"])
    except SpecError as exc:
        raise ConfigError(f"config error: {exc}".splitlines()[0]) from None


def _check_writable(results_dir: str) -> None:
    """results_dir (or its nearest existing parent) must be a writable directory; nothing is created."""
    import os

    path = Path(results_dir).absolute()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"config error: results_dir = {results_dir!r}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"config error: results_dir = {results_dir!r}: {probe} is not writable")


# A study file is a few kB; anything this large is not one.
MAX_STUDY_FILE_BYTES = 16 * 2**20


class _Refused(yaml.MarkedYAMLError):
    """A YAML construct a study file may not use, at its mark."""


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader without anchors and aliases (a few lines of aliases can expand into
    gigabytes, "billion laughs", and every store carries the resolved config)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(problem="anchors and aliases (&name, *name) are not allowed in a study file; "
                                   "write the values out", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def _check_duplicate_keys(loader: yaml.SafeLoader, node: yaml.Node, where: tuple = ()) -> None:
    """Refuse a key given twice in one mapping (YAML would keep the last silently)."""
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = loader.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    seen = first.get(key)
                except TypeError:  # unhashable keys are refused by the constructor
                    seen = None
                if seen is not None:
                    raise _Refused(problem=f"duplicate key {_key(where + (key,))!r} (first given on line {seen}); "
                                           "give each key once", problem_mark=key_node.start_mark)
                first[key] = line
                _check_duplicate_keys(loader, value_node, where + (key,))
            else:
                _check_duplicate_keys(loader, value_node, where + ("?",))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(loader, item, where + (i,))


def read_study_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (or JSON) study file strictly, without validating it.

    Refused, each with a one-line :class:`ConfigError` naming the file (and the line and
    column where there is one): an unreadable file, one larger than 16 MiB, bytes that are not
    UTF-8 text, YAML syntax errors, duplicate keys, anchors and aliases, a top level that is not
    a mapping, and ``__use_yte__`` (which makes Snakemake run the file as a YTE template, that
    is, as Python code).
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(f"config error: cannot read {path}: not a file")
        if path.stat().st_size > MAX_STUDY_FILE_BYTES:
            raise ConfigError(f"config error: {path} is {path.stat().st_size / 2**20:.0f} MiB; a study file "
                              f"is at most {MAX_STUDY_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"config error: {path}, line {line}: not UTF-8 text (byte {exc.start}); "
                          "a study file is YAML text") from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        raw = None
        if node is not None:
            _check_duplicate_keys(loader, node)
            raw = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        what = exc.problem or exc.context or "syntax error"
        if exc.context and exc.context_mark and exc.problem and exc.context_mark is not mark:
            what += (f" ({exc.context} on line {exc.context_mark.line + 1}, column "
                     f"{exc.context_mark.column + 1})")
        kind = "" if isinstance(exc, _Refused) else "not valid YAML: "
        raise ConfigError(f"config error: {where}: {kind}{what}".splitlines()[0]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config error: {path} is not valid YAML: {exc}".splitlines()[0]) from None
    finally:
        loader.dispose()
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        kind = {"list": "list", "str": "string", "int": "number", "float": "number", "bool": "boolean"}
        raise ConfigError(f"config error: {path}: the top level must be a mapping of keys, not a "
                          f"{kind.get(type(raw).__name__, type(raw).__name__)}")
    if "__use_yte__" in raw:
        raise ConfigError(f"config error: {path}: __use_yte__ makes Snakemake run the file as a YTE template "
                          "(Python code); magcore refuses templated study files")
    return raw


def load(path: str | Path) -> dict[str, Any]:
    """Read a study file with :func:`read_study_file` and :func:`validate` it."""
    return validate(read_study_file(path))


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a resolved configuration."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """``python -m magcore.config STUDY.yaml ...``: check study files as the workflow does (one
    line per file; exit status 1 if any is refused).  Snakemake's own message for a file it
    cannot parse names neither the file nor the line; this does."""
    import sys

    status = 0
    for name in sys.argv[1:] if argv is None else argv:
        try:
            load(name)
            print(f"{name}: ok")
        except ConfigError as exc:
            print(f"{name}: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
