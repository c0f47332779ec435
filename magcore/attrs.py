"""The attribute conventions of magcore's stores: every attribute is one netCDF can hold.

A boolean is stored as the integer 0 or 1 and its name listed in the attribute ``boolean_attrs``;
a mapping (or a list that is not all numbers or all strings, or None) as a JSON string, its name
listed in ``json_attrs`` (both lists space-separated, on the dataset or on the variable that holds
the attribute).  :func:`encode_attrs` writes them so (:func:`magcore.store.write_store` does for
every store), :func:`decode_attrs` reads them back (:func:`magcore.store.open_store` does).  No
magcore imports here: the config check of an llg sphere store reads the attributes too.
"""

from __future__ import annotations

import json
from typing import Any


def _is_plain_list(value) -> bool:
    import numpy as np

    items = list(value)
    if not items:
        return True
    numbers = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                  for v in items)
    return numbers or all(isinstance(v, str) for v in items)


def encode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` as netCDF can hold them (module docstring): booleans as 0/1 (names in
    ``boolean_attrs``), mappings and mixed lists as JSON strings (names in ``json_attrs``),
    numpy scalars as Python numbers.  Idempotent."""
    import numpy as np

    out: dict[str, Any] = {}
    booleans = set(str(attrs.get("boolean_attrs", "")).split())
    as_json = set(str(attrs.get("json_attrs", "")).split())
    for key, value in attrs.items():
        if key in ("boolean_attrs", "json_attrs"):
            continue
        if isinstance(value, (bool, np.bool_)):
            out[key] = int(value)
            booleans.add(key)
        elif isinstance(value, np.generic):
            out[key] = value.item()
        elif isinstance(value, np.ndarray):
            out[key] = value.astype(np.int8) if value.dtype == bool else value
        elif isinstance(value, dict) or value is None or (isinstance(value, (list, tuple))
                                                          and not _is_plain_list(value)):
            out[key] = json.dumps(value, default=str)
            as_json.add(key)
        else:
            out[key] = value
    if booleans:
        out["boolean_attrs"] = " ".join(sorted(booleans))
    if as_json:
        out["json_attrs"] = " ".join(sorted(as_json))
    return out


def decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes as they were before :func:`encode_attrs` (a raw store's or a netCDF
    copy's): the names in ``boolean_attrs`` as ``bool``, those in ``json_attrs`` parsed; other
    attributes unchanged.  Attributes of stores written before this encoding pass through."""
    booleans = str(attrs.get("boolean_attrs", "")).split()
    as_json = str(attrs.get("json_attrs", "")).split()
    out = {k: v for k, v in attrs.items() if k not in ("boolean_attrs", "json_attrs")}
    for key in booleans:
        if key in out:
            out[key] = bool(out[key])
    for key in as_json:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def is_complete(attrs: dict[str, Any]) -> bool:
    """Whether store attributes (decoded or raw) carry the completion flag."""
    value = attrs.get("complete")
    return value is True or (type(value) is int and value == 1) or (hasattr(value, "dtype") and value == 1)
