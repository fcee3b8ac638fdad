"""JSON merge patch (RFC 7386, `application/merge-patch+json`)."""
from __future__ import annotations

import copy

try:
    import orjson
    from ..memo import _STRICT
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

_ATOMIC = (str, int, float, bool, type(None))  # deepcopy hands these back as they are


def merge_patch(target, patch):
    """Return target with patch merged: dicts merge recursively, null deletes, else replace."""
    if not isinstance(patch, dict):
        return _copy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _copy(value):
    """copy.deepcopy of a patch value that replaces a field: a scalar as it is, a list (a status's
    conditions) by one C-level JSON round trip when it reads back equal (plain JSON types: not a
    NaN, a tuple or a subclass), else deepcopy."""
    if type(value) in _ATOMIC:
        return value
    if orjson is not None and type(value) is list:
        try:
            out = orjson.loads(orjson.dumps(value, option=_STRICT))
        except TypeError:
            out = None
        if out is not None and out == value:
            return out
    return copy.deepcopy(value)
