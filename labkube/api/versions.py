"""Built-in resources served in more than one version but stored in one (`Resource.stored_as`):
the stored resource, and objects converted between the stored and the served version.

The registry converts a request's object to the stored version before defaults, validation and
storage, and every answer back to the version asked for; raw (stored-text) fast paths skip
converted resources."""
from __future__ import annotations

from .autoscaling import conversion as autoscaling_conversion
from .resources import Resource, find

# (group, resource) -> convert(obj, api_version) -> a new dict in that version
_CONVERTERS = {("autoscaling", "horizontalpodautoscalers"): autoscaling_conversion.convert}


def stored(res: Resource) -> Resource:
    """The resource in the version its objects are stored in."""
    if not res.converted:
        return res
    out = find(res.group, res.stored_as, res.name)
    if out is None:
        raise KeyError(f"{res.name}.{res.group}: no stored version {res.stored_as}")
    return out


def _convert(res: Resource, obj, version: str):
    fn = _CONVERTERS.get((res.group, res.name))
    if fn is None or not isinstance(obj, dict):
        return obj
    return fn(obj, f"{res.group}/{version}" if res.group else version)


def to_stored(res: Resource, obj):
    """A request's object (in res's version) in the stored version."""
    return _convert(res, obj, res.stored_as) if res.converted else obj


def to_served(res: Resource, obj):
    """A stored object in res's version (res's own version when it is the stored one)."""
    return _convert(res, obj, res.version) if res.converted else obj
