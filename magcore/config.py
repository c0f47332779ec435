"""Study configuration: load, fill defaults and validate against the JSON schema.

The schema is ``workflow/schemas/config.schema.yaml`` (shipped in the package as
``magcore/data/config.schema.yaml``).  Errors are one line, naming the key and what is allowed,
and are raised before anything is computed or written.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key and what is allowed."""


def schema() -> dict:
    """The configuration JSON schema as a dict."""
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


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _message(error: jsonschema.ValidationError) -> str:
    where = _key(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if allowed:
            prefix = f"{where}." if error.absolute_path else ""
            return (f"config error: unknown key {', '.join(prefix + e for e in extra)}; "
                    f"allowed keys here: {', '.join(allowed)}")
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if error.validator in bounds:
        return f"config error: {where} = {error.instance!r}: must be {bounds[error.validator]} {error.validator_value}"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names = {"number": "a number", "integer": "an integer", "string": "a string", "object": "a mapping",
                 "array": "a list", "boolean": "true or false", "null": "null"}
        return f"config error: {where} = {error.instance!r}: must be {' or '.join(names.get(k, k) for k in kinds)}"
    if error.validator == "enum":
        return f"config error: {where} = {error.instance!r} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
    return f"config error: {where}: {error.message}"


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return a validated deep copy of ``config`` with every default filled in.

    Raises :class:`ConfigError` with a one-line message on the first (most relevant) problem.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"config error: the configuration must be a mapping, got {type(config).__name__}")
    resolved = copy.deepcopy(config)
    errors = list(_Validator(schema()).iter_errors(resolved))
    if errors:
        raise ConfigError(_message(jsonschema.exceptions.best_match(errors)))
    _check_semantics(resolved)
    return resolved


def _check_semantics(cfg: dict[str, Any]) -> None:
    from .models import MODELS

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
    try:
        from .study import model_from_config

        built = model_from_config(cfg)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise ConfigError(f"config error: model: {exc}".splitlines()[0]) from None
    if cfg["texture"]["enabled"] and (built.domain != "lattice" or built.dim != 2):
        raise ConfigError(f"config error: texture.enabled needs a 2D lattice model, not {model['name']!r}")
    _check_llg(cfg, built)
    comp = cfg["compute"]
    if comp["dask_cluster"] == "scheduler" and not comp["dask_scheduler"]:
        raise ConfigError("config error: compute.dask_scheduler is required when compute.dask_cluster is 'scheduler'")
    _check_writable(cfg["results_dir"])
    el = cfg["electrons"]
    if el["chemical_potential"] is not None and el["filling"] is not None:
        raise ConfigError("config error: electrons.chemical_potential and electrons.filling are both "
                          "given; give one or the other")
    if el["filling"] is not None and not el["filling"] < built.n_bands:
        raise ConfigError(f"config error: electrons.filling = {el['filling']}: must be < the number of "
                          f"bands of {model['name']!r} ({built.n_bands})")
    for i, (theta, phi) in enumerate(cfg["bands"]["reference_directions_deg"]):
        if not 0 <= theta <= 180:
            raise ConfigError(
                f"config error: bands.reference_directions_deg.{i} theta = {theta} must be in [0, 180]"
            )


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
    _check_llg_spec(llg, model)
    if not llg["enabled"]:
        return
    if llg["sphere_store"] is not None:
        if not llg["use_sphere"]:
            raise ConfigError("config error: llg.sphere_store is given but llg.use_sphere is false")
        path = Path(llg["sphere_store"])
        if not (path / "zarr.json").exists():
            raise ConfigError(f"config error: llg.sphere_store = {llg['sphere_store']!r}: no zarr store there")
        import json

        meta = json.loads((path / "zarr.json").read_text())
        attrs = meta.get("attributes", {})
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
            build_llg(llg["model"], first)
        except (ValueError, TypeError, KeyError, NameError, SyntaxError, ArithmeticError) as exc:
            raise ConfigError(f"config error: llg.model: {exc}".splitlines()[0]) from None


def _check_llg_spec(llg: dict[str, Any], model) -> None:
    """magcore.llg.spec.check_llg on the resolved section, its errors as ConfigError."""
    from .llg.spec import SpecError, check_llg

    try:
        check_llg(llg, n_field=getattr(model, "dim", None))
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


def load(path: str | Path) -> dict[str, Any]:
    """Read a YAML study file and :func:`validate` it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config error: {path} is not valid YAML: {exc}".splitlines()[0]) from None
    return validate(raw or {})


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a resolved configuration."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
