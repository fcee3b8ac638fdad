"""SharedParts: the parts of informer views (a pod's metadata, spec, status) held once per distinct
JSON text, for the views the scheduler's and the controller-manager's pod informers keep.

A view splits each part into the fields of that object alone (name, uid, resourceVersion,
nodeName ...) and the rest. The rest is looked up whole by its JSON text (`SharedParts.share`):
objects of one template repeat it, so a view costs one JSON dump and lookup per part instead of a
walk over every field, and its lists and maps are the objects the template's other views hold
(`SharedValues`, so a value common to several parts is still held once). `held(common, own,
parts)` builds the view's part: a copy of the kept dict (no two views share a part dict; they
share its values), then the object's own fields, compacted. What an informer caches is
read-only to its handlers, which is what makes the sharing safe.
"""
from __future__ import annotations

import sys

from labkube import jsonio

from .informer import SHARED_STR_MAX, SharedValues, _shared


def scalar(v, intern=sys.intern, limit=SHARED_STR_MAX):
    """A leaf value as views keep it: a short string interned, anything else as it is."""
    return intern(v) if type(v) is str and len(v) <= limit else v


class SharedParts:
    """A part of a view without its own fields, held once per distinct JSON text: the dict kept
    has its keys and short strings interned and its lists and maps from `shared`. Holds at most
    `size` parts (then starts over, as SharedValues: earlier views keep theirs)."""

    def __init__(self, shared: SharedValues, size: int = 4096):
        self.shared = shared
        self.size = size
        self._kept: dict[bytes, dict] = {}

    def _made(self, part: dict) -> dict:
        return {sys.intern(k): self.shared.share(v) if type(v) in (dict, list) else scalar(v)
                for k, v in part.items()}

    def share(self, part: dict) -> dict:
        try:
            key = jsonio.dumps(part)
        except (TypeError, ValueError):
            return self._made(part)
        got = self._kept.get(key)
        if got is None:
            if len(self._kept) >= self.size:
                self._kept.clear()
            got = self._kept[key] = self._made(part)
        return got

    def __len__(self) -> int:
        return len(self._kept)


def held(common: dict, own: dict | None, parts: SharedParts) -> dict:
    """A view's part: the fields of `common` as `parts` holds them (a copy of that dict), then
    `own` (the object's own fields) compacted, last."""
    out = dict(parts.share(common))
    if own:
        out.update(_shared(own))
    return out
