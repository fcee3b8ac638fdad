"""Load ``group_vars/`` and ``host_vars/`` next to an inventory (or playbook).

For an entity NAME the candidates are ``NAME``, ``NAME.yml``, ``NAME.yaml``,
``NAME.json`` (files) and ``NAME/`` (a directory whose files, recursively and
sorted by path, are merged in order).  Hidden files and editor backups are
ignored.  Each file must hold a mapping (or be empty).
"""
from __future__ import annotations

import os

from .model import InventoryError
from .yamlsrc import YamlSourceError, load_yaml

_EXTS = ("", ".yml", ".yaml", ".json")


def _load_file(path) -> dict:
    try:
        data = load_yaml(path)
    except YamlSourceError as e:
        raise InventoryError(str(e)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: variables file must be a mapping, got {type(data).__name__}")
    return data


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(("~", ".swp", ".bak", ".orig", ".retry"))


def _dir_files(d):
    out = []
    for root, dirs, files in os.walk(d):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            if _ignored(f) or os.path.splitext(f)[1] not in _EXTS:
                continue
            out.append(os.path.join(root, f))
    return sorted(out)


def load_entity_vars(base_dir, kind: str, name: str) -> dict:
    """Merged variables of ``base_dir/kind/name*`` (kind = group_vars|host_vars)."""
    d = os.path.join(base_dir, kind)
    if not os.path.isdir(d):
        return {}
    out: dict = {}
    for ext in _EXTS:
        p = os.path.join(d, name + ext)
        if ext == "" and os.path.isdir(p):
            for f in _dir_files(p):
                out.update(_load_file(f))
        elif os.path.isfile(p):
            out.update(_load_file(p))
    return out


def apply_vars_dirs(inv, base_dir):
    """Fill ``dir_vars`` of every group and host of ``inv`` from ``base_dir``."""
    for g in inv.groups.values():
        g.dir_vars.update(load_entity_vars(base_dir, "group_vars", g.name))
    for h in inv.hosts.values():
        h.dir_vars.update(load_entity_vars(base_dir, "host_vars", h.name))
