"""The in-memory inventory: hosts, groups, variable merging and host patterns.

Variable merge order (lowest first, later wins; top-level keys replace, as
with Ansible's default ``hash_behaviour=replace``):

1. group vars from the inventory files, groups ordered by depth (``all`` is
   depth 0, its children 1, ...), then ``ansible_group_priority``, then name;
2. ``group_vars/all`` then ``group_vars/<group>`` from the inventory directory,
   in the same group order;
3. host vars from the inventory files (inline ``host: {k: v}`` or INI ``k=v``);
4. ``host_vars/<host>``.

This matches Ansible's documented precedence ("inventory file group vars" <
"inventory group_vars/all" < "inventory group_vars/*" < "inventory file host
vars" < "inventory host_vars/*").  :meth:`Inventory.host_vars` adds the magic
variables ``inventory_hostname``, ``inventory_hostname_short``,
``group_names`` and ``groups``.
"""
from __future__ import annotations

import fnmatch
import json
import re


class InventoryError(Exception):
    """A user error in an inventory; ``str()`` is one line naming file and line/key."""


class Group:
    def __init__(self, name: str):
        self.name = name
        self.vars: dict = {}        # from inventory files
        self.dir_vars: dict = {}    # from group_vars/
        self.children: list[str] = []
        self.parents: list[str] = []
        self.hosts: list[str] = []  # direct members, in order added

    def __repr__(self):
        return f"Group({self.name!r})"


class Host:
    def __init__(self, name: str):
        self.name = name
        self.vars: dict = {}
        self.dir_vars: dict = {}
        self.groups: list[str] = []  # direct groups, in order added

    def __repr__(self):
        return f"Host({self.name!r})"


class Inventory:
    """Hosts and groups loaded from one or more inventory sources."""

    def __init__(self):
        self.hosts: dict[str, Host] = {}
        self.groups: dict[str, Group] = {}
        self.sources: list[str] = []
        self.add_group("all")
        self.add_group("ungrouped")

    # -- building -------------------------------------------------------
    def add_group(self, name: str) -> Group:
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = Group(name)
        return g

    def add_child(self, parent: str, child: str, where: str = ""):
        if parent == child:
            raise InventoryError(f"{where}: group {child!r} cannot be its own child")
        p, c = self.add_group(parent), self.add_group(child)
        if child in self._ancestors(parent):
            raise InventoryError(f"{where}: adding {child!r} under {parent!r} makes a group loop")
        if child not in p.children:
            p.children.append(child)
        if parent not in c.parents:
            c.parents.append(parent)

    def add_host(self, name: str, group: str | None = None) -> Host:
        h = self.hosts.get(name)
        if h is None:
            h = self.hosts[name] = Host(name)
        if group and group not in ("all",):
            g = self.add_group(group)
            if name not in g.hosts:
                g.hosts.append(name)
            if group not in h.groups:
                h.groups.append(group)
        return h

    def finish(self):
        """Attach top-level groups to ``all`` and fill ``ungrouped``."""
        alln = self.groups["all"]
        for g in self.groups.values():
            if g.name != "all" and not g.parents:
                self.add_child("all", g.name)
        # ``ungrouped`` comes first among all's children, as in Ansible
        if "ungrouped" in alln.children:
            alln.children.remove("ungrouped")
            alln.children.insert(0, "ungrouped")
        ung = self.groups["ungrouped"]
        for h in self.hosts.values():
            real = [x for x in h.groups if x not in ("all", "ungrouped")]
            if real and "ungrouped" in h.groups:
                h.groups.remove("ungrouped")
                ung.hosts.remove(h.name)
            if not real and "ungrouped" not in h.groups:
                h.groups.append("ungrouped")
                ung.hosts.append(h.name)
        self._depth_cache = {}
        return self

    # -- structure queries -----------------------------------------------
    def _ancestors(self, group: str) -> set[str]:
        seen, todo = set(), [group]
        while todo:
            g = todo.pop()
            for p in self.groups[g].parents if g in self.groups else ():
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    def depth(self, group: str) -> int:
        cache = self.__dict__.setdefault("_depth_cache", {})
        if group not in cache:
            parents = self.groups[group].parents
            cache[group] = 0 if not parents else 1 + max(self.depth(p) for p in parents)
        return cache[group]

    def host_groups(self, host: str) -> list[str]:
        """All groups a host belongs to (directly or through children), incl. ``all``."""
        direct = self.hosts[host].groups
        names = set(direct)
        for g in direct:
            names |= self._ancestors(g)
        names.add("all")
        return self._sort_groups(names)

    def _sort_groups(self, names) -> list[str]:
        def key(n):
            g = self.groups[n]
            prio = g.vars.get("ansible_group_priority", g.dir_vars.get("ansible_group_priority", 1))
            try:
                prio = int(prio)
            except (TypeError, ValueError):
                prio = 1
            return (self.depth(n), prio, n)
        return sorted(names, key=key)

    def group_hosts(self, group: str) -> list[str]:
        """Hosts of a group and of all its descendants, in inventory order."""
        if group == "all":
            return list(self.hosts)
        members, todo, seen = set(), [group], set()
        while todo:
            g = todo.pop()
            if g in seen:
                continue
            seen.add(g)
            members.update(self.groups[g].hosts)
            todo.extend(self.groups[g].children)
        return [h for h in self.hosts if h in members]

    # -- variables ---------------------------------------------------------
    def inventory_vars(self, host: str) -> dict:
        """Merged inventory variables of a host (what ``ansible-inventory --list`` shows)."""
        if host not in self.hosts:
            raise KeyError(host)
        groups = self.host_groups(host)
        out: dict = {}
        for g in groups:
            out.update(self.groups[g].vars)
        for g in groups:
            out.update(self.groups[g].dir_vars)
        h = self.hosts[host]
        out.update(h.vars)
        out.update(h.dir_vars)
        out.pop("ansible_group_priority", None)  # a setting of the group, not a variable
        return out

    def groups_dict(self) -> dict[str, list[str]]:
        return {g: self.group_hosts(g) for g in self.groups}

    def host_vars(self, host: str) -> dict:
        """Inventory variables plus the magic variables of one host."""
        out = self.inventory_vars(host)
        out["inventory_hostname"] = host
        out["inventory_hostname_short"] = host.split(".")[0]
        out["group_names"] = sorted(g for g in self.host_groups(host) if g not in ("all", "ungrouped"))
        out["groups"] = self.groups_dict()
        return out

    # -- patterns ------------------------------------------------------------
    def _term_hosts(self, term: str) -> list[str]:
        if term in ("all", "*"):
            return list(self.hosts)
        m = re.fullmatch(r"(.+)\[(-?\d*)(?::(-?\d*))?\]", term)
        if m and m.group(1) in self.groups:
            hosts = self.group_hosts(m.group(1))
            a, b = m.group(2), m.group(3)
            if m.group(3) is None:
                try:
                    return [hosts[int(a)]]
                except (IndexError, ValueError):
                    return []
            lo = int(a) if a else 0
            hi = int(b) + 1 if b else len(hosts)
            return hosts[lo:hi]
        if term in self.groups:
            return self.group_hosts(term)
        if term in self.hosts:
            return [term]
        if term.startswith("~"):
            rx = re.compile(term[1:])
            found = set()
            for g in self.groups:
                if rx.match(g):
                    found.update(self.group_hosts(g))
            found.update(h for h in self.hosts if rx.match(h))
            return [h for h in self.hosts if h in found]
        if any(c in term for c in "*?["):
            found = set()
            for g in self.groups:
                if fnmatch.fnmatchcase(g, term):
                    found.update(self.group_hosts(g))
            found.update(h for h in self.hosts if fnmatch.fnmatchcase(h, term))
            return [h for h in self.hosts if h in found]
        return []

    @staticmethod
    def split_pattern(pattern) -> list[str]:
        if isinstance(pattern, (list, tuple)):
            terms = []
            for p in pattern:
                terms.extend(Inventory.split_pattern(p))
            return terms
        pattern = str(pattern).strip()
        if "," in pattern:
            parts = pattern.split(",")
        else:
            # ':' separates terms, but not inside [a:b] subscripts
            parts, buf, depth = [], "", 0
            for ch in pattern:
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                if ch == ":" and depth == 0:
                    parts.append(buf)
                    buf = ""
                else:
                    buf += ch
            parts.append(buf)
        return [p.strip() for p in parts if p.strip()]

    def match(self, pattern, limit=None) -> list[str]:
        """Hosts matching an Ansible host pattern (``a:b``, ``a:&b``, ``a:!b``, globs)."""
        terms = self.split_pattern(pattern)
        union: list[str] = []
        inter, excl = [], []
        for t in terms:
            if t.startswith("&"):
                inter.append(t[1:])
            elif t.startswith("!"):
                excl.append(t[1:])
            else:
                union.append(t)
        selected = set()
        for t in union:
            selected.update(self._term_hosts(t))
        if not union and (inter or excl):
            selected = set(self.hosts)
        for t in inter:
            selected &= set(self._term_hosts(t))
        for t in excl:
            selected -= set(self._term_hosts(t))
        if limit:
            selected &= set(self.match(limit))
        return [h for h in self.hosts if h in selected]

    # -- output --------------------------------------------------------------
    def to_ansible_list_json(self) -> dict:
        """What ``ansible-inventory --list`` prints for this inventory."""
        out: dict = {"_meta": {"hostvars": {}, "profile": "inventory_legacy"}}
        for h in self.hosts:
            hv = self.inventory_vars(h)
            if hv:
                out["_meta"]["hostvars"][h] = hv
        for name, g in self.groups.items():
            entry: dict = {}
            if g.children:
                entry["children"] = list(g.children)
            if g.hosts and name != "all":
                entry["hosts"] = list(g.hosts)
            if name == "ungrouped" and not entry:
                continue
            if entry or name == "all":
                out[name] = entry
        return out

    def to_ansible_list_text(self) -> str:
        """``ansible-inventory --list`` output as text (sorted keys, indent 4)."""
        return json.dumps(self.to_ansible_list_json(), sort_keys=True, indent=4)

    def graph(self, group: str = "all") -> str:
        """Text tree like ``ansible-inventory --graph``."""
        lines = []

        def walk(name, indent):
            g = self.groups[name]
            lines.append(f"{indent}@{name}:" if not indent else f"{indent}--@{name}:")
            sub = indent + "  |"
            for c in g.children:
                walk(c, sub)
            for h in g.hosts:
                lines.append(f"{sub}--{h}")
        walk(group, "")
        return "\n".join(lines)
