"""Server-side apply: field ownership (`metadata.managedFields`) per field manager.

An object's fields are a set of paths, each a tuple of elements in upstream's FieldsV1
notation: `f:<name>` (a field of a struct or map), `k:{"name":"c"}` (an item of an
associative list, keys sorted), `v:<json>` (an item of a set of scalars). Struct nodes are
not members themselves (only their leaves are); map nodes (`labels`, `data`, `requests` ...)
and list items are, which FieldsV1 writes as `".": {}`. Lists without merge keys and atomic
maps (label selectors) are owned as a whole.

- `created()` -> the managedFields of a new object (an Update entry, or Apply for an apply
  that creates);
- `updated()` -> managedFields after a PUT/PATCH/scale/status write: the writer owns what it
  changed, others lose it (updates never conflict);
- `apply()` -> (merged object, managedFields) for an apply patch: 409 Conflict when it would
  change a value another manager owns (unless forced, which takes the field over), fields
  the manager applied before and no longer applies are removed unless someone else owns them.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from .errors import ApiError
from .memo import JsonMemo, fresh, orjson, text_of
from .meta import now as _now
from .patch.strategic import MERGE_KEYS, PRIMITIVE_MERGE, merge_map

APPLY, UPDATE = "Apply", "Update"
MARK = ("<member>",)  # the value recorded for map nodes and list items: presence, not a value

# metadata the server owns: never part of anyone's field set
IGNORED_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                          "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"})
# maps whose keys are owned one by one (upstream `map[string]...` fields)
GRANULAR_MAPS = frozenset({"labels", "annotations", "nodeSelector", "data", "binaryData", "stringData", "requests",
                           "limits", "capacity", "allocatable", "hard", "used", "overhead", "parameters"})
SELECTOR_KEYS = ("matchLabels", "matchExpressions")
# associative lists whose items are identified by more than one field (protocol defaults to TCP)
MULTI_KEYS = {"ports": {"containerPort": ("containerPort", "protocol"), "port": ("port", "protocol")},
              "topologySpreadConstraints": {"topologyKey": ("topologyKey", "whenUnsatisfiable")}}
KEY_DEFAULTS = {"protocol": "TCP", "whenUnsatisfiable": "DoNotSchedule"}


@dataclass(frozen=True)
class Manager:
    """Who writes: `name` (fieldManager), `operation` Apply or Update, the subresource written."""
    name: str
    operation: str = UPDATE
    subresource: str | None = None
    force: bool = False


try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None


def _dumps(v) -> str:
    """Compact JSON with sorted keys, non-ASCII as UTF-8 (as upstream writes `k:`/`v:` elements)."""
    if orjson is not None:
        try:
            return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
        except (TypeError, ValueError):
            pass
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# -- the field set of an object ---------------------------------------------------------------

def _list_keys(name: str, items: list) -> tuple[str, ...] | None:
    """The merge keys that identify the items of list `name` (None: an atomic list). Loops, not
    all() over generators: called for every list of every walked object (most lack merge keys)."""
    multi = MULTI_KEYS.get(name)
    key = MERGE_KEYS.get(name) if multi is None else None
    if not items or (multi is None and not key):
        return None
    for i in items:
        if not isinstance(i, dict):
            return None
    if multi is not None:
        for first, keys in multi.items():
            for i in items:
                if first not in i:
                    break
            else:
                return keys
        return None
    for i in items:
        if key not in i:
            return None
    return (key,)


def key_element(item: dict, keys: tuple[str, ...]) -> str:
    """The `k:` element naming an associative list's item by its key fields."""
    if len(keys) == 1:  # a condition's type, a container's name, an address: kept per (key, str value)
        v = item.get(keys[0])
        if type(v) is str:
            k = (keys[0], v)
            hit = _KEY_ELEMENTS.get(k)
            if hit is None:
                if len(_KEY_ELEMENTS) >= _KEY_ELEMENTS_MAX:
                    _KEY_ELEMENTS.clear()
                hit = _KEY_ELEMENTS[k] = _key_element(item, keys)
            return hit
    return _key_element(item, keys)


def _key_element(item: dict, keys: tuple[str, ...]) -> str:
    return "k:" + _dumps({k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys if k in item or k in KEY_DEFAULTS})


# (key field, its str value) -> key_element: the same few condition types and container names come
# back on every status write (a str value's element depends on nothing else); bounded: emptied when
# full (pod IPs are keys too, new with every pod)
_KEY_ELEMENTS: dict[tuple[str, str], str] = {}
_KEY_ELEMENTS_MAX = 4096


_SCALARS = frozenset({str, int, float, bool})


# field name -> its `f:` element: the same few names come back on every write, so their elements are
# one string object each (built once, hash kept; the path sets of a write and of the stored object,
# and _RENDERED's keys, then compare them by identity); bounded: emptied when full (label keys)
_FIELD: dict[str, str] = {}
_FIELD_MAX = 4096


def _field(k: str) -> str:
    el = "f:" + k
    if len(_FIELD) >= _FIELD_MAX:
        _FIELD.clear()
    _FIELD[k] = el
    return el


def _walk(value, path: tuple, name: str, out: dict) -> None:
    if isinstance(value, dict):
        if not value or (name == "selector" and any(k in value for k in SELECTOR_KEYS)):
            out[path] = value  # an empty struct or an atomic map: owned as a whole
            return
        if name in GRANULAR_MAPS or name == "selector":  # a Service's selector is a plain map
            out[path] = MARK
        for k, v in value.items():
            if type(v) in _SCALARS:  # a leaf (most fields): recorded without a call
                out[path + (_FIELD.get(k) or _field(k),)] = v
            elif v is not None:
                _walk(v, path + (_FIELD.get(k) or _field(k),), k, out)
    elif isinstance(value, list):
        keys = _list_keys(name, value)
        if keys:
            for item in value:
                p = path + (key_element(item, keys),)
                out[p] = MARK
                for k, v in item.items():
                    if type(v) in _SCALARS:
                        out[p + (_FIELD.get(k) or _field(k),)] = v
                    elif v is not None:
                        _walk(v, p + (_FIELD.get(k) or _field(k),), k, out)
        elif name in PRIMITIVE_MERGE and value and not any(isinstance(v, (dict, list)) for v in value):
            out[path] = MARK
            for v in value:
                out[path + ("v:" + _dumps(v),)] = v
        else:
            out[path] = value  # atomic list
    else:
        out[path] = value


def fields(obj: dict, status_scope: bool | None) -> dict[tuple, object]:
    """{path: value} of an object's managed fields (MARK for map nodes and list items).

    status_scope None: every field; False: all but `status` (the main resource of a kind with a
    status subresource); True: only `status`.
    """
    out: dict = {}
    for k, v in (obj or {}).items():
        if v is None or k in ("apiVersion", "kind"):
            continue
        if (status_scope is True and k != "status") or (status_scope is False and k == "status"):
            continue
        if k == "metadata" and isinstance(v, dict):
            for mk, mv in v.items():
                if mk not in IGNORED_META and mv is not None:
                    _walk(mv, ("f:metadata", _FIELD.get(mk) or _field(mk)), mk, out)
            continue
        _walk(v, (_FIELD.get(k) or _field(k),), k, out)
    return out


# -- FieldsV1 ------------------------------------------------------------------------------

def _members(node: dict, value: dict) -> dict:
    """node with an `f:<key>` child for each non-null member of the map `value`, in key order."""
    for k in sorted(value):
        v = value[k]
        if v is None:
            continue
        if type(v) in _SCALARS:  # a leaf (most fields): no call
            node["f:" + k] = {}
            continue
        child = _trie(v, k)
        if child is not None:
            node["f:" + k] = child
    return node


def _trie(value, name: str):
    """The FieldsV1 node of a value in one pass (None: no fields), the same trie as
    to_fields_v1(fields(...)) without the path set: the cheap way for a created object."""
    if isinstance(value, dict):
        if not value or (name == "selector" and any(k in value for k in SELECTOR_KEYS)):
            return {}
        node = _members({".": {}} if name in GRANULAR_MAPS or name == "selector" else {}, value)
        if node == {".": {}}:
            return {}  # a map whose values are all null: a member without children
        return node if node else None
    if isinstance(value, list):
        keys = _list_keys(name, value)
        if keys:
            items = {}
            for item in value:
                items[key_element(item, keys)] = _members({".": {}}, item)
            return {k: items[k] for k in sorted(items)}
        if name in PRIMITIVE_MERGE and value and not any(isinstance(v, (dict, list)) for v in value):
            node = {".": {}}
            for el in sorted("v:" + _dumps(v) for v in value):
                node[el] = {}
            return node
    return {}


SPEC_TRIES = JsonMemo()  # a spec's text -> (its FieldsV1 node as JSON text, or None: no fields)


def _spec_trie(spec):
    """_trie(spec, "spec"), kept per spec text: objects from one template share it."""
    key = SPEC_TRIES.key(spec)
    hit = SPEC_TRIES.get(key)
    if hit is not None:
        return None if hit[0] is None else fresh(hit[0])
    node = _trie(spec, "spec")
    if node is None:
        SPEC_TRIES.put(key, (None,))
    else:
        text = text_of(node)
        if text is not None:
            SPEC_TRIES.put(key, (text,))
    return node


def fields_v1_of(obj: dict, status_scope: bool | None) -> dict:
    """FieldsV1 of an object's managed fields (scopes as in `fields`)."""
    out: dict = {}
    for k in sorted(obj or {}):
        v = obj[k]
        if v is None or k in ("apiVersion", "kind"):
            continue
        if (status_scope is True and k != "status") or (status_scope is False and k == "status"):
            continue
        if k == "metadata" and isinstance(v, dict):
            md = {}
            for mk in sorted(v):
                mv = v[mk]
                if mk not in IGNORED_META and mv is not None:
                    child = _trie(mv, mk)
                    if child is not None:
                        md["f:" + mk] = child
            if md:
                out["f:metadata"] = md
            continue
        child = _spec_trie(v) if k == "spec" else _trie(v, k)
        if child is not None:
            out["f:" + k] = child
    return out


def _sort_key(el: str):
    return (el != ".", el[:2], el)


def _sorted_node(node: dict, members: set, path: tuple) -> dict:
    keys = sorted(node, key=_sort_key)
    out = {".": {}} if node and path in members else {}
    for k in keys:
        child = node[k]
        out[k] = _sorted_node(child, members, path + (k,)) if child else {}
    return out


# a manager's path set -> its rendered FieldsV1 as JSON text: the status writer of every pod from
# one template (a kubelet, a controller) owns the same set, rendered anew on each of its writes
_RENDERED: OrderedDict = OrderedDict()
_RENDERED_MAX = 256


def to_fields_v1(paths) -> dict:
    """The FieldsV1 trie of a set of paths (`.` marks a node that is itself a member), sorted (a
    fresh object: sets rendered lately are kept as JSON text)."""
    members = frozenset(paths)
    text = _RENDERED.get(members)
    if text is not None:
        _RENDERED.move_to_end(members)
        return fresh(text)
    out = _render_trie(members)
    if orjson is None:
        return out
    try:  # string keys and empty objects only: its JSON text is exact (a lone surrogate is not cached)
        _RENDERED[members] = orjson.dumps(out)
    except TypeError:
        return out
    else:
        if len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    return out


def _render_trie(members: frozenset) -> dict:
    root: dict = {}
    for p in members:
        node = root
        for el in p:
            node = node.setdefault(el, {})
    return _sorted_node(root, members, ())


def from_fields_v1(trie: dict) -> set[tuple]:
    out: set = set()

    def walk(node: dict, path: tuple):
        for el, child in node.items():
            if el == ".":
                out.add(path)
                continue
            if not isinstance(child, dict) or not child:
                out.add(path + (el,))
            else:
                walk(child, path + (el,))
    walk(trie or {}, ())
    return out


def path_string(path: tuple) -> str:
    """A path as upstream prints it in conflicts: `.spec.containers[name="c"].image`."""
    parts = []
    for el in path:
        kind, rest = el[:2], el[2:]
        if kind == "f:":
            parts.append("." + rest)
        elif kind == "k:":
            keys = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={_dumps(v)}" for k, v in keys.items()) + "]")
        elif kind == "v:":
            parts.append("[=" + rest + "]")
        else:
            parts.append("[" + rest + "]")
    return "".join(parts)


# -- managedFields entries -----------------------------------------------------------------

def _trie_has(trie: dict, path: tuple) -> bool:
    """Whether path is in from_fields_v1(trie), looked up along the path instead of read out whole."""
    node = trie
    last = len(path) - 1
    for i, el in enumerate(path):
        if el == "." or el not in node:
            return False
        child = node[el]
        if not isinstance(child, dict) or not child:
            return i == last  # a leaf of the trie: a member itself, with nothing under it
        node = child
    return "." in node


class _Entry:
    """One managedFields entry: its raw form and its path set (read out of the FieldsV1 trie when
    first needed: an update reads only the entries it changes)."""
    __slots__ = ("raw", "_paths", "changed")

    def __init__(self, raw: dict, paths: set | None):
        self.raw, self._paths, self.changed = raw, paths, False

    @property
    def paths(self) -> set:
        if self._paths is None:
            self._paths = from_fields_v1(self.raw["fieldsV1"])
        return self._paths

    @paths.setter
    def paths(self, value: set) -> None:
        self._paths = value

    def owns_any(self, paths: set) -> bool:
        if self._paths is not None:
            return not self._paths.isdisjoint(paths)
        trie = self.raw["fieldsV1"]
        for p in paths:  # (a loop: no generator per entry and write)
            if (not p or p[0] in trie) and _trie_has(trie, p):
                return True
        return False

    def empty(self) -> bool:
        # a trie holds no path only when it is {} (every other member is a path or leads to one)
        return not self._paths if self._paths is not None else not self.raw["fieldsV1"]

    def matches(self, m: Manager, api_version: str) -> bool:
        r = self.raw
        return (r.get("manager") == m.name and r.get("operation") == m.operation
                and (r.get("subresource") or None) == m.subresource
                and (m.operation == APPLY or r.get("apiVersion") == api_version))

    def describe(self) -> str:
        r = self.raw
        s = _dumps(r.get("manager", ""))
        if r.get("subresource"):
            s += f' with subresource "{r["subresource"]}"'
        if r.get("operation") == UPDATE:
            s += f' using {r.get("apiVersion", "")}' + (f' at {r["time"]}' if r.get("time") else "")
        return s


def _entries(obj: dict, lazy: bool = False) -> list[_Entry]:
    out = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(raw, dict) and isinstance(raw.get("fieldsV1"), dict):  # a malformed entry owns nothing
            out.append(_Entry(dict(raw), None if lazy else from_fields_v1(raw["fieldsV1"])))
    return out


def _new_entry(m: Manager, api_version: str) -> _Entry:
    raw = {"manager": m.name, "operation": m.operation, "apiVersion": api_version}
    e = _Entry(raw, set())
    e.changed = True
    return e


def _render(entries: list[_Entry], when: str) -> list[dict]:
    out = []
    for e in entries:
        if e.empty():
            continue
        raw = e.raw
        if e.changed:
            raw = {"manager": raw.get("manager"), "operation": raw.get("operation"), "apiVersion": raw.get("apiVersion"),
                   "time": when, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(e.paths)}
            if e.raw.get("subresource"):
                raw["subresource"] = e.raw["subresource"]
        out.append(raw)
    return out


def _mine(entries: list[_Entry], m: Manager, api_version: str) -> _Entry:
    for e in entries:
        if e.matches(m, api_version):
            return e
    e = _new_entry(m, api_version)
    if m.subresource:
        e.raw["subresource"] = m.subresource
    entries.append(e)
    return e


def _scope(status_subresource: bool, sub: str | None) -> bool | None:
    if sub == "status":
        return True
    return False if status_subresource else None


def created(obj: dict, m: Manager, api_version: str, status_subresource: bool, applied: dict | None = None) -> list:
    """managedFields of a newly created object (what `applied` sets, for an apply that creates)."""
    trie = fields_v1_of(applied if applied is not None else obj, _scope(status_subresource, m.subresource))
    if not trie:
        return []
    entry = {"manager": m.name, "operation": m.operation, "apiVersion": api_version, "time": _now(),
             "fieldsType": "FieldsV1", "fieldsV1": trie}
    if m.subresource:
        entry["subresource"] = m.subresource
    return [entry]


def updated(old: dict, new: dict, m: Manager, api_version: str, status_subresource: bool) -> list:
    """managedFields after an Update by m: m owns what changed; removed fields are owned by no one."""
    scope = _scope(status_subresource, m.subresource)
    before, after = fields(old, scope), fields(new, scope)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    current = (old.get("metadata") or {}).get("managedFields") or []
    if not changed and not removed:
        return _render(_entries(old, lazy=True), _now()) if isinstance(current, list) else []
    entries = _entries(old, lazy=True)
    mine = _mine(entries, m, api_version)
    touched = changed | removed
    for e in entries:
        if e is mine:
            continue
        if e.owns_any(touched):
            e.paths -= touched
            e.changed = True
    grown = (mine.paths | changed) - removed
    if grown != mine.paths:
        mine.paths, mine.changed = grown, True
    return _render(entries, _now())


def conflict_error(conflicts: list[tuple[_Entry, tuple]]) -> ApiError:
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {e.describe()}", "field": path_string(p)}
              for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {e.describe()}: {path_string(p)}"
    else:
        by: dict[str, list] = {}
        for e, p in conflicts:
            by.setdefault(e.describe(), []).append(path_string(p))
        lines = []
        for who in sorted(by):
            lines.append(f"conflicts with {who}")
            lines.extend(f"- {p}" for p in by[who])
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", msg, {"causes": causes})


def _remove(obj: dict, path: tuple) -> None:
    """Delete the field, list item or set value at path (nothing when it is not there); an
    associative list left empty goes too."""
    node, parent, field = obj, None, None
    for i, el in enumerate(path):
        last = i == len(path) - 1
        kind, rest = el[:2], el[2:]
        if kind == "f:":
            if not isinstance(node, dict) or rest not in node:
                return
            if last:
                del node[rest]
                return
            parent, field, node = node, rest, node[rest]
        elif kind == "k:":
            want = json.loads(rest)
            if not isinstance(node, list):
                return
            idx = next((j for j, it in enumerate(node) if isinstance(it, dict)
                        and all(it.get(k, KEY_DEFAULTS.get(k)) == v for k, v in want.items())), None)
            if idx is None:
                return
            if last:
                node.pop(idx)
                if not node and parent is not None:
                    parent.pop(field, None)
                return
            parent, field, node = None, None, node[idx]
        elif kind == "v:":
            if isinstance(node, list) and last:
                val = json.loads(rest)
                node[:] = [x for x in node if x != val]
            return
        else:
            return


def _is_item_key(path: tuple) -> bool:
    """A key field of a list item (it goes with its item, never alone)."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in json.loads(path[-2][2:])


def apply(live: dict, config: dict, m: Manager, api_version: str, status_subresource: bool) -> tuple[dict, list]:
    """(the object with config applied by m, its managedFields); ApiError 409 on conflicts."""
    scope = _scope(status_subresource, m.subresource)
    want = fields(config, scope)
    have = fields(live, scope)
    entries = _entries(live)
    mine = _mine(entries, m, api_version)
    conflicts = []
    for e in entries:
        if e is mine:
            continue
        for p in sorted(e.paths & want.keys()):
            v = want[p]
            if v is not MARK and p in have and have[p] is not MARK and have[p] != v:
                conflicts.append((e, p))
    if conflicts and not m.force:
        raise conflict_error(conflicts)
    for e, p in conflicts:
        e.paths.discard(p)
        e.changed = True
    merged = merge_map(live, config)
    others: set = set()
    for e in entries:
        if e is not mine:
            others |= e.paths
    held = {p[:i] for p in others for i in range(1, len(p))}  # ancestors of what others own
    for p in sorted(mine.paths - want.keys() - others, key=len):
        if p not in held and not _is_item_key(p):
            _remove(merged, p)
    if set(want) != mine.paths:
        mine.paths, mine.changed = set(want), True
        mine.raw["apiVersion"] = api_version  # the version the manager applies now
    md = merged.setdefault("metadata", {})
    md["managedFields"] = _render(entries, _now())
    return merged, md["managedFields"]
