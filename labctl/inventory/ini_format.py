"""Parse Ansible's INI inventory format into an :class:`Inventory`.

::

    host0 ansible_host=10.0.0.5          # before any section: ungrouped
    [masters]
    m1-k8s ansible_host=10.200.0.10
    [workers]
    w[1:3]-k8s
    [k8s:children]
    masters
    workers
    [k8s:vars]
    lab_subnet=10.200.0.0/24

Inline host values are read as Python literals when they parse as one
(``port=22`` is an int, ``x="a b"`` a string, ``x=FALSE`` stays a string);
``[group:vars]`` values are read the same way (as ansible-core 2.19 does).
"""
from __future__ import annotations

import ast
import re
import shlex

from .model import Inventory, InventoryError
from .ranges import RangeError, expand_hostname

_SECTION = re.compile(r"^\[([^\]:\s]+)(?::(\w+))?\]\s*$")


def _literal(v: str):
    try:
        val = ast.literal_eval(v)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return v
    return val


def _split_kv(tokens, path, lineno, literal=True):
    out = {}
    for t in tokens:
        if "=" not in t:
            raise InventoryError(f"{path}:{lineno}: expected key=value, got {t!r}")
        k, v = t.split("=", 1)
        out[k] = _literal(v) if literal else v
    return out


def parse_ini_inventory(inv: Inventory, path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InventoryError(f"{path}: cannot read: {e}") from None
    group, kind = "ungrouped", "hosts"
    pending_children: list[tuple[str, str, int]] = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            group, kind = m.group(1), m.group(2) or "hosts"
            if kind not in ("hosts", "children", "vars"):
                raise InventoryError(f"{path}:{lineno}: section [{group}:{kind}]: unknown kind "
                                     f"{kind!r} (expected children or vars)")
            inv.add_group(group)
            continue
        if line.startswith("["):
            raise InventoryError(f"{path}:{lineno}: malformed section header {line!r}")
        if kind == "vars":
            if "=" not in line:
                raise InventoryError(f"{path}:{lineno}: [{group}:vars] expects key=value, got {line!r}")
            k, v = line.split("=", 1)
            inv.groups[group].vars[k.strip()] = _literal(v.strip())
            continue
        if kind == "children":
            pending_children.append((group, line.split()[0], lineno))
            continue
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as e:
            raise InventoryError(f"{path}:{lineno}: {e}") from None
        if not tokens:
            continue
        hpat, rest = tokens[0], tokens[1:]
        hvars = _split_kv(rest, path, lineno)
        port = None
        if ":" in hpat:
            left, right = hpat.rsplit(":", 1)
            if right.isdigit() and left.count("[") == left.count("]"):
                hpat, port = left, int(right)
        try:
            names = expand_hostname(hpat)
        except RangeError as e:
            raise InventoryError(f"{path}:{lineno}: host {hpat!r}: {e}") from None
        for hn in names:
            h = inv.add_host(hn, group)
            if port is not None:
                h.vars["ansible_port"] = port
            h.vars.update(hvars)
    for parent, child, lineno in pending_children:
        inv.add_child(parent, child, f"{path}:{lineno}")
