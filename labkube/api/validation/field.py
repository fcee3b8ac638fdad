"""FieldError and Path: validation errors that name the offending field, upstream style.

str(FieldError) reads like Kubernetes: `spec.containers[0].image: Required value`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

_TYPES = {
    "required": ("Required value", "FieldValueRequired"),
    "invalid": ("Invalid value", "FieldValueInvalid"),
    "unsupported": ("Unsupported value", "FieldValueNotSupported"),
    "duplicate": ("Duplicate value", "FieldValueDuplicate"),
    "forbidden": ("Forbidden", "FieldValueForbidden"),
    "toolong": ("Too long", "FieldValueTooLong"),
    "notfound": ("Not found", "FieldValueNotFound"),
}
_NO_VALUE = object()


class Path(str):
    """A field path; `p.child("a")` -> 'p.a', `p.index(0)` -> 'p[0]', `p.key("k")` -> 'p[k]'."""

    def child(self, *names: str) -> "Path":
        out = str(self)
        for n in names:
            out = f"{out}.{n}" if out else n
        return Path(out)

    def index(self, i: int) -> "Path":
        return Path(f"{self}[{i}]")

    def key(self, k: str) -> "Path":
        return Path(f"{self}[{k}]")


@dataclass
class FieldError:
    type: str
    path: str
    value: object = _NO_VALUE
    detail: str = ""

    @property
    def reason(self) -> str:
        return _TYPES[self.type][1]

    def detail_message(self) -> str:
        head = _TYPES[self.type][0]
        parts = [head]
        if self.value is not _NO_VALUE and self.type in ("invalid", "unsupported", "duplicate", "notfound"):
            parts.append(_fmt(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def __str__(self) -> str:
        return f"{self.path}: {self.detail_message()}"


def _fmt(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, sort_keys=True)


def required(path, detail: str = "") -> FieldError:
    return FieldError("required", path, detail=detail)


def invalid(path, value, detail: str = "") -> FieldError:
    return FieldError("invalid", path, value, detail)


def unsupported(path, value, supported) -> FieldError:
    return FieldError("unsupported", path, value,
                      "supported values: " + ", ".join(json.dumps(s) for s in supported))


def duplicate(path, value) -> FieldError:
    return FieldError("duplicate", path, value)


def forbidden(path, detail: str) -> FieldError:
    return FieldError("forbidden", path, detail=detail)


def not_found(path, value) -> FieldError:
    return FieldError("notfound", path, value)
