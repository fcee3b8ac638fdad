"""JSON merge patch (RFC 7386, `application/merge-patch+json`)."""
from __future__ import annotations

import copy

from ..memo import exact_copy

_ATOMIC = (str, int, float, bool, type(None))  # deepcopy hands these back as they are


def merge_patch(target, patch, owned: bool = False):
    """Return target with patch merged: dicts merge recursively, null deletes, else replace.
    owned: the patch is the caller's to give away (decoded for this merge alone), so the values
    that replace fields go into the result as they are instead of copied."""
    if not isinstance(patch, dict):
        return patch if owned else _copy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v, owned)
    return out


def _copy(value):
    """copy.deepcopy of a patch value that replaces a field: a scalar as it is, a list (a status's
    conditions) by memo.exact_copy's JSON round trip."""
    if type(value) in _ATOMIC:
        return value
    if type(value) is list:
        return exact_copy(value)
    return copy.deepcopy(value)
