"""Label and field selectors: parse the query-string forms, match objects, convert LabelSelector dicts.

Label selector strings: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated.
Field selectors: `path=value` / `path!=value` on dotted paths such as metadata.name or spec.nodeName.
"""
from __future__ import annotations

import re

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(sel: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(sel: str | None) -> list[tuple[str, str, list[str]]]:
    """Requirements as (key, op, values) with op in =, !=, in, notin, exists, !exists."""
    reqs = []
    for part in _split(sel or ""):
        m = _SET_RE.match(part)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        else:
            reqs.append((part, "exists", []))
    return reqs


def requirement_matches(labels: dict, key: str, op: str, values: list[str]) -> bool:
    has = key in labels
    val = labels.get(key)
    op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(op, op)
    if op == "=":
        return has and val == values[0]
    if op == "!=":
        return not has or val != values[0]
    if op == "in":
        return has and val in values
    if op == "notin":
        return not has or val not in values
    if op == "exists":
        return has
    if op == "!exists":
        return not has
    if op in ("Gt", "Lt"):
        try:
            a, b = int(val), int(values[0])
        except (TypeError, ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    raise ValueError(f"unknown selector operator {op!r}")


def labels_match(sel: str | None, labels: dict | None) -> bool:
    labels = labels or {}
    return all(requirement_matches(labels, k, op, v) for k, op, v in parse_label_selector(sel))


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """Match a LabelSelector dict (matchLabels + matchExpressions). An empty selector matches all."""
    labels = labels or {}
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        if not requirement_matches(labels, e["key"], e["operator"], list(e.get("values") or [])):
            return False
    return True


def selector_to_string(selector: dict | None) -> str:
    """LabelSelector dict -> query-string form (as kubectl and the real controllers send it)."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, k, vals = e["operator"], e["key"], ",".join(sorted(e.get("values") or []))
        parts.append({"In": f"{k} in ({vals})", "NotIn": f"{k} notin ({vals})",
                      "Exists": k, "DoesNotExist": f"!{k}"}[op])
    return ",".join(parts)


def get_path(obj: dict, path: str):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def fields_match(sel: str | None, obj: dict) -> bool:
    for part in _split(sel or ""):
        neg = "!=" in part
        k, v = part.split("!=" if neg else ("==" if "==" in part else "="), 1)
        actual = get_path(obj, k.strip())
        actual = "" if actual is None else str(actual)
        if (actual == v.strip()) == neg:
            return False
    return True
