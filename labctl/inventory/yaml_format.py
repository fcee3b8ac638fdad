"""Parse Ansible's YAML inventory format into an :class:`Inventory`.

::

    all:
      vars: {k: v}
      hosts: {h1: {ansible_host: 10.0.0.1}}
      children:
        masters: {hosts: {m1-k8s: }}
        workers: {hosts: {"w[1:3]-k8s": }}

Any top-level key is a group (normally just ``all``).  Host names may carry
ranges (see :mod:`labctl.inventory.ranges`).
"""
from __future__ import annotations

from .model import Inventory, InventoryError
from .ranges import RangeError, expand_hostname
from .yamlsrc import YamlSourceError, load_yaml

_GROUP_KEYS = {"hosts", "children", "vars"}


def _loc(obj, path):
    line = getattr(obj, "src_line", None)
    return f"{path}:{line}" if line else str(path)


def _parse_group(inv: Inventory, name: str, data, path):
    if not isinstance(name, str) or not name:
        raise InventoryError(f"{path}: group name {name!r} must be a non-empty string")
    inv.add_group(name)
    if data is None:
        return
    if not isinstance(data, dict):
        raise InventoryError(f"{_loc(data, path)}: group {name!r} must be a mapping with hosts/children/vars, "
                             f"got {type(data).__name__}")
    for key in data:
        if key not in _GROUP_KEYS:
            raise InventoryError(f"{_loc(data, path)}: group {name!r}: unknown key {key!r} "
                                 f"(expected hosts, children or vars)")
    gvars = data.get("vars")
    if gvars is not None:
        if not isinstance(gvars, dict):
            raise InventoryError(f"{_loc(data, path)}: group {name!r}: 'vars' must be a mapping")
        inv.groups[name].vars.update(gvars)
    hosts = data.get("hosts")
    if hosts is not None:
        if not isinstance(hosts, dict):
            raise InventoryError(f"{_loc(data, path)}: group {name!r}: 'hosts' must be a mapping "
                                 f"of host names (got {type(hosts).__name__})")
        for hpat, hvars in hosts.items():
            if hvars is not None and not isinstance(hvars, dict):
                raise InventoryError(f"{_loc(hosts, path)}: host {hpat!r} in group {name!r}: "
                                     f"host vars must be a mapping")
            try:
                names = expand_hostname(str(hpat))
            except RangeError as e:
                raise InventoryError(f"{_loc(hosts, path)}: host {hpat!r}: {e}") from None
            for hn in names:
                h = inv.add_host(hn, name)
                if hvars:
                    h.vars.update(hvars)
    children = data.get("children")
    if children is not None:
        if not isinstance(children, dict):
            raise InventoryError(f"{_loc(data, path)}: group {name!r}: 'children' must be a mapping "
                                 f"of group names")
        for cname, cdata in children.items():
            _parse_group(inv, cname, cdata, path)
            inv.add_child(name, cname, _loc(children, path))


def parse_yaml_inventory(inv: Inventory, path):
    try:
        data = load_yaml(path)
    except YamlSourceError as e:
        raise InventoryError(str(e)) from None
    if data is None:
        return
    if not isinstance(data, dict):
        raise InventoryError(f"{_loc(data, path)}: a YAML inventory must be a mapping of groups "
                             f"(e.g. 'all:'), got {type(data).__name__}")
    for gname, gdata in data.items():
        _parse_group(inv, gname, gdata, path)
