"""Label selectors (string and LabelSelector forms) and field selectors, parse + match.

Label syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-joined.
Field syntax: `path=value`, `path==value`, `path!=value`, comma-joined; paths are dotted
object paths (`metadata.name`, `spec.nodeName`, `status.phase`, `involvedObject.uid` ...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import bad_request

_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|[^\s!=(),]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str           # in, notin, exists, !exists, =, !=
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        has = self.key in labels
        v = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and v in self.values
        if self.op in ("!=", "notin"):
            return not has or v not in self.values
        if self.op == "exists":
            return has
        return not has


class LabelSelector:
    """A conjunction of requirements; an empty selector matches everything."""

    def __init__(self, reqs: list[Requirement] | None = None):
        self.reqs = reqs or []

    def matches(self, labels: dict | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.reqs)

    def empty(self) -> bool:
        return not self.reqs

    @classmethod
    def parse(cls, text: str | None) -> "LabelSelector":
        if not text or not text.strip():
            return cls()
        toks = [t for t in _TOKEN.findall(text)]
        reqs: list[Requirement] = []
        i = 0

        def need(cond: bool):
            if not cond:
                raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")

        while i < len(toks):
            t = toks[i]
            if t == "!":
                need(i + 1 < len(toks))
                reqs.append(Requirement(toks[i + 1], "!exists"))
                i += 2
            else:
                need(t not in ("=", "==", "!=", "(", ")", ","))
                key = t
                nxt = toks[i + 1] if i + 1 < len(toks) else ","
                if nxt in ("=", "==", "!="):
                    val = toks[i + 2] if i + 2 < len(toks) and toks[i + 2] not in (",",) else ""
                    reqs.append(Requirement(key, "!=" if nxt == "!=" else "=", (val,)))
                    i += 3 if val else 2
                elif nxt in ("in", "notin"):
                    need(i + 2 < len(toks) and toks[i + 2] == "(")
                    j = i + 3
                    vals = []
                    while j < len(toks) and toks[j] != ")":
                        if toks[j] != ",":
                            vals.append(toks[j])
                        j += 1
                    need(j < len(toks))
                    reqs.append(Requirement(key, nxt, tuple(vals)))
                    i = j + 1
                else:
                    reqs.append(Requirement(key, "exists"))
                    i += 1
            if i < len(toks):
                need(toks[i] == ",")
                i += 1
        return cls(reqs)

    @classmethod
    def from_spec(cls, sel: dict | None) -> "LabelSelector":
        """From a metav1.LabelSelector dict ({matchLabels, matchExpressions})."""
        sel = sel or {}
        reqs = [Requirement(k, "=", (v,)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
        for e in sel.get("matchExpressions") or []:
            op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(e.get("operator"))
            if op:
                reqs.append(Requirement(e.get("key", ""), op, tuple(e.get("values") or ())))
        return cls(reqs)


def selector_string(sel: dict | None) -> str:
    """metav1.LabelSelector -> the string form (as kubectl shows in SELECTOR columns)."""
    parts = [f"{k}={v}" for k, v in sorted(((sel or {}).get("matchLabels") or {}).items())]
    for e in (sel or {}).get("matchExpressions") or []:
        op, key, vals = e.get("operator"), e.get("key"), ",".join(sorted(e.get("values") or []))
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(parts) or "<none>"


def field_value(obj: dict, path: str) -> str:
    """The string value at a dotted path ('' when absent), as field selectors compare it."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class FieldSelector:
    """A conjunction of `path=value` / `path!=value` terms."""

    def __init__(self, terms: list[tuple[str, str, str]] | None = None):
        self.terms = terms or []

    @classmethod
    def parse(cls, text: str | None) -> "FieldSelector":
        terms = []
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            m = re.match(r"^([^=!]+)(!=|==|=)(.*)$", part)
            if not m:
                raise bad_request(f"invalid field selector: {part!r}")
            terms.append((m.group(1).strip(), "!=" if m.group(2) == "!=" else "=", m.group(3).strip()))
        return cls(terms)

    def matches(self, obj: dict) -> bool:
        for path, op, val in self.terms:
            got = field_value(obj, path)
            if (got == val) != (op == "="):
                return False
        return True

    def single_name(self) -> str | None:
        """The name when the selector is exactly metadata.name=<x> (a fast path)."""
        for path, op, val in self.terms:
            if path == "metadata.name" and op == "=":
                return val
        return None
