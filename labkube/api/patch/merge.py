"""JSON merge patch (RFC 7386, `application/merge-patch+json`)."""
from __future__ import annotations

import copy

from ..memo import exact_copy

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
    conditions) by memo.exact_copy's JSON round trip."""
    if type(value) in _ATOMIC:
        return value
    if type(value) is list:
        return exact_copy(value)
    return copy.deepcopy(value)
