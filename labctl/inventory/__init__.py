"""Ansible-compatible inventories.

``load_inventory(path)`` accepts a YAML or INI inventory file, a directory of
inventory files (with ``group_vars/`` and ``host_vars/`` beside them), or a
comma-separated host list (``"h1,h2,"``).  See :mod:`labctl.inventory.model`
for the variable merge order.
"""
from __future__ import annotations

import os

from .model import Group, Host, Inventory, InventoryError
from .ini_format import parse_ini_inventory
from .varsdirs import apply_vars_dirs
from .yaml_format import parse_yaml_inventory

__all__ = ["load_inventory", "Inventory", "InventoryError", "Host", "Group"]

_SKIP_EXT = (".retry", ".pyc", ".pyo", ".cfg", ".md", ".orig", ".bak", ".swp", "~", ".rst")


def _parse_file(inv, path):
    ext = os.path.splitext(path)[1].lower()
    if ext in (".yml", ".yaml", ".json"):
        parse_yaml_inventory(inv, path)
    else:
        parse_ini_inventory(inv, path)
    inv.sources.append(str(path))


def load_inventory(path) -> Inventory:
    """Load an inventory; raise :class:`InventoryError` (one line) on bad input."""
    inv = Inventory()
    spath = str(path)
    if "," in spath and not os.path.exists(spath):
        for name in (x.strip() for x in spath.split(",")):
            if name:
                inv.add_host(name)
        return inv.finish()
    if os.path.isdir(spath):
        entries = sorted(os.listdir(spath))
        for e in entries:
            full = os.path.join(spath, e)
            if e in ("group_vars", "host_vars") or e.startswith(".") or e.endswith(_SKIP_EXT):
                continue
            if os.path.isfile(full):
                _parse_file(inv, full)
        base = spath
    elif os.path.isfile(spath):
        _parse_file(inv, spath)
        base = os.path.dirname(os.path.abspath(spath))
    else:
        raise InventoryError(f"{spath}: inventory not found (expected a file or directory)")
    inv.finish()
    apply_vars_dirs(inv, base)
    return inv
