"""Apply JSON merge patches (RFC 7386) and JSON patches (RFC 6902) to plain dicts (used by the fake API)."""
from __future__ import annotations

import copy

from .errors import status_error


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _unescape(tok: str) -> str:
    return tok.replace("~1", "/").replace("~0", "~")


def _walk(doc, tokens):
    cur = doc
    for t in tokens:
        if isinstance(cur, list):
            cur = cur[int(t)]
        elif isinstance(cur, dict):
            cur = cur[t]
        else:
            raise KeyError(t)
    return cur


def json_patch(doc, ops: list[dict]):
    doc = copy.deepcopy(doc)
    for op in ops:
        tokens = [_unescape(t) for t in op["path"].split("/")[1:]]
        try:
            if not tokens:
                if op["op"] in ("add", "replace"):
                    doc = copy.deepcopy(op["value"])
                    continue
                raise KeyError("")
            parent = _walk(doc, tokens[:-1])
            last = tokens[-1]
            kind = op["op"]
            if kind == "test":
                if _walk(doc, tokens) != op["value"]:
                    raise status_error(422, "Invalid", f"test operation failed at {op['path']}")
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind in ("add", "replace"):
                val = copy.deepcopy(op["value"])
                if isinstance(parent, list):
                    if kind == "add":
                        parent.insert(len(parent) if last == "-" else int(last), val)
                    else:
                        parent[int(last)] = val
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = val
            else:
                raise status_error(422, "Invalid", f"unsupported json patch op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise status_error(422, "Invalid",
                               f"the server rejected our request due to an error in our request: "
                               f"path {op.get('path')} ({e})") from e
    return doc
