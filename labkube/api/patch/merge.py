"""JSON merge patch (RFC 7386, `application/merge-patch+json`)."""
from __future__ import annotations

import copy


def merge_patch(target, patch):
    """Return target with patch merged: dicts merge recursively, null deletes, else replace."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out
