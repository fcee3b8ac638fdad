"""Structural-schema handling for custom resources (a CRD version's openAPIV3Schema):
pruning of unknown fields, `default` values, and validation of type, required, enum,
bounds, lengths, pattern and item counts — with field paths, like upstream."""
from __future__ import annotations

import copy
import re

from .validation.field import FieldError, Path, invalid, required, unsupported

_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "object": (dict,),
          "array": (list,)}
_SKIP_TOP = ("apiVersion", "kind", "metadata")


def prune_and_default(value, schema: dict | None, top: bool = False):
    """Drop fields the schema does not know (unless it preserves unknown fields) and fill in
    `default`s, in place; returns value."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") is True or addl is True
        for k in list(value):
            if k in props or (top and k in _SKIP_TOP):
                continue
            if isinstance(addl, dict):
                value[k] = prune_and_default(value[k], addl)
            elif not keep_unknown:
                del value[k]
        for k, sub in props.items():
            if k not in value and isinstance(sub, dict) and "default" in sub:
                value[k] = copy.deepcopy(sub["default"])
            if k in value:
                value[k] = prune_and_default(value[k], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = prune_and_default(item, schema["items"])
    return value


def validate(value, schema: dict | None, path: Path, top: bool = False) -> list[FieldError]:
    if not isinstance(schema, dict) or value is None:
        return []
    errs: list[FieldError] = []
    typ = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            return [invalid(path, value, "must be an integer or a string")]
    elif typ in _TYPES:
        ok = isinstance(value, _TYPES[typ]) and not (typ in ("integer", "number") and isinstance(value, bool))
        if not ok:
            return [invalid(path, value, f'must be of type {typ}') if path else invalid(path, value, typ)]
    if "enum" in schema and value not in schema["enum"]:
        errs.append(unsupported(path, value, schema["enum"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(invalid(path, value, f"should be greater than or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(invalid(path, value, f"should be less than or equal to {schema['maximum']}"))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append(invalid(path, value, f"should be at least {schema['minLength']} chars long"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append(FieldError("toolong", path, detail=f"may not be longer than {schema['maxLength']}"))
        if "pattern" in schema:
            try:
                if not re.search(schema["pattern"], value):
                    errs.append(invalid(path, value, f"should match '{schema['pattern']}'"))
            except re.error:
                pass
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append(invalid(path, len(value), f"should have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append(FieldError("toolong", path, detail=f"must have at most {schema['maxItems']} items"))
        for i, item in enumerate(value):
            errs += validate(item, schema.get("items"), path.index(i))
    if isinstance(value, dict):
        for k in schema.get("required") or []:
            if k not in value:
                errs.append(required(path.child(k)))
        props = schema.get("properties") or {}
        for k, v in value.items():
            if top and k in _SKIP_TOP:
                continue
            sub = props.get(k, schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None)
            errs += validate(v, sub, path.child(k))
    return errs


# schemas and printer columns of the custom resources being served: (group, version, plural) -> ...
_SCHEMAS: dict[tuple[str, str, str], dict] = {}
_COLUMNS: dict[tuple[str, str, str], list] = {}
_SCALE: dict[tuple[str, str, str], dict] = {}


def register_schema(group: str, version: str, plural: str, schema: dict | None, columns: list | None,
                    scale: dict | None = None) -> None:
    _SCHEMAS[(group, version, plural)] = schema or {}
    _COLUMNS[(group, version, plural)] = columns or []
    if isinstance(scale, dict):
        _SCALE[(group, version, plural)] = scale


def scale_for(group: str, version: str, plural: str) -> dict | None:
    """The CRD's scale subresource paths (specReplicasPath, statusReplicasPath, labelSelectorPath)."""
    return _SCALE.get((group, version, plural))


def unregister_schemas(group: str, plural: str) -> None:
    for d in (_SCHEMAS, _COLUMNS, _SCALE):
        for k in [k for k in d if k[0] == group and k[2] == plural]:
            del d[k]


def clear() -> None:
    _SCHEMAS.clear()
    _COLUMNS.clear()
    _SCALE.clear()


def schema_for(group: str, version: str, plural: str) -> dict | None:
    return _SCHEMAS.get((group, version, plural))


def columns_for(group: str, version: str, plural: str) -> list:
    return _COLUMNS.get((group, version, plural), [])
