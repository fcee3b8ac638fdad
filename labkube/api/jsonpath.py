"""The JSONPath subset CRD printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.k=="v")].b`."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*[\"']([^\"']*)[\"']\)\]")


def evaluate(obj, path: str) -> list:
    """All values the path selects (an empty list when nothing matches or the path is unsupported)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    cur = [obj]
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            return []
        pos = m.end()
        key, idx, fkey, fval = m.groups()
        nxt = []
        for c in cur:
            if key is not None and isinstance(c, dict) and key in c:
                nxt.append(c[key])
            elif idx is not None and isinstance(c, list):
                if idx == "*":
                    nxt.extend(c)
                elif int(idx) < len(c):
                    nxt.append(c[int(idx)])
            elif fkey is not None and isinstance(c, list):
                for item in c:
                    v = item
                    for part in fkey.split("."):
                        v = v.get(part) if isinstance(v, dict) else None
                    if v is not None and str(v) == fval:
                        nxt.append(item)
        cur = nxt
    return cur


def cell(obj, path: str) -> str:
    vals = evaluate(obj, path)
    out = []
    for v in vals:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (dict, list)):
            import json
            out.append(json.dumps(v, separators=(",", ":")))
        elif v is not None:
            out.append(str(v))
    return ",".join(out)
