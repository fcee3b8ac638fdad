"""JSON patch (RFC 6902, `application/json-patch+json`): add, remove, replace, move, copy, test."""
from __future__ import annotations

import copy


class PatchError(ValueError):
    """A patch that cannot be applied (answered as 422/400 by the apiserver)."""


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list, tok: str, allow_end: bool) -> int:
    if tok == "-" and allow_end:
        return len(container)
    if not tok.isdigit():
        raise PatchError(f"invalid array index {tok!r}")
    i = int(tok)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"array index {i} out of bounds")
    return i


def _parent(doc, toks):
    cur = doc
    for t in toks[:-1]:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError(f"path segment {t!r} not found")
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(cur, t, False)]
        else:
            raise PatchError(f"cannot traverse into {t!r}")
    return cur


def _get(doc, pointer):
    cur = doc
    for t in _tokens(pointer):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(cur, t, False)]
        else:
            raise PatchError(f"path {pointer!r} not found")
    return cur


def _add(doc, pointer, value):
    toks = _tokens(pointer)
    if not toks:
        return value
    parent = _parent(doc, toks)
    if isinstance(parent, dict):
        parent[toks[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, toks[-1], True), value)
    else:
        raise PatchError(f"cannot add at {pointer!r}")
    return doc


def _remove(doc, pointer):
    toks = _tokens(pointer)
    if not toks:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, toks)
    if isinstance(parent, dict):
        if toks[-1] not in parent:
            raise PatchError(f"unable to remove nonexistent key: {toks[-1]}")
        return parent.pop(toks[-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, toks[-1], False))
    raise PatchError(f"cannot remove {pointer!r}")


def json_patch(doc, ops):
    """Apply a list of RFC 6902 operations to a copy of doc."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            toks = _tokens(path)
            if not toks:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent = _parent(doc, toks)
                if isinstance(parent, list):
                    parent[_index(parent, toks[-1], False)] = copy.deepcopy(op.get("value"))
                else:
                    parent[toks[-1]] = copy.deepcopy(op.get("value"))
        elif kind == "move":
            val = _remove(doc, op["from"])
            doc = _add(doc, path, val)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed")
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return doc
