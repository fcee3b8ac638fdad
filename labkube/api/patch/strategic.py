"""Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds.

Lists with a merge key are merged element by element (`containers` by `name`, `ports` by
`containerPort` or `port`, `volumeMounts` by `mountPath`, `conditions` by `type` ...);
other lists are replaced. Directives: `$patch: replace|delete|merge`,
`$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`, `$retainKeys`; null deletes.
"""
from __future__ import annotations


from ..memo import exact_copy
from .jsonpatch import PatchError

try:
    import orjson
    from ..memo import _STRICT
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "imagePullSecrets": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "conditions": "type", "addresses": "type",
    "ownerReferences": "uid", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name", "schedulingGates": "name", "readinessGates": "conditionType",
}
PRIMITIVE_MERGE = {"finalizers"}


def _merge_key(field: str, *lists) -> str | None:
    if field == "ports":
        for lst in lists:
            for item in lst or []:
                if isinstance(item, dict) and "containerPort" in item:
                    return "containerPort"
        return "port"
    return MERGE_KEYS.get(field)


def _clean(value):
    """A patch value inserted where nothing existed: drop nulls and directives (a fresh copy)."""
    if orjson is not None and type(value) in (dict, list):
        # most such values (a status's containerStatuses, a new condition) hold no directive: then a
        # C-level JSON round trip is the copy when they hold no null either, else a walk that only
        # drops the null members (a condition's lastProbeTime), instead of the walk below, which
        # looks for directives in every nested value
        try:
            text = orjson.dumps(value, option=_STRICT)
        except TypeError:
            text = None
        if text is not None and b'"$' not in text:
            return orjson.loads(text) if b"null" not in text else _drop_nulls(value)
    return _clean_walk(value)


def _drop_nulls(value):
    """_clean_walk of a value without directives (plain JSON types: `_clean` checked): a copy
    without the null members of its objects (null list items stay, as there)."""
    if type(value) is dict:
        return {k: _drop_nulls(v) if type(v) in _CONTAINERS else v for k, v in value.items() if v is not None}
    return [_drop_nulls(v) if type(v) in _CONTAINERS else v for v in value]


_CONTAINERS = (dict, list)


def _take(value):
    """_clean of a value of a plain, directive-free patch decoded for this merge alone: the value
    itself, with the null members of its objects dropped in place (null list items stay, as _clean
    leaves them); no copy, as nothing else holds it."""
    if type(value) is dict:
        drop = None
        for k, v in value.items():
            if v is None:
                if drop is None:
                    drop = [k]
                else:
                    drop.append(k)
            elif type(v) in _CONTAINERS:
                _take(v)
        if drop is not None:
            for k in drop:
                del value[k]
    elif type(value) is list:
        for v in value:
            if type(v) in _CONTAINERS:
                _take(v)
    return value


def _copy_items(items: list) -> list:
    """A deep copy of a list of JSON values (memo.exact_copy: one C-level round trip when it reads
    back exactly, else deepcopy)."""
    return exact_copy(items)


def _clean_walk(value):
    if isinstance(value, dict):
        if value.get("$patch") == "delete":
            return None
        return {k: _clean_walk(v) for k, v in value.items()
                if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_clean_walk(v) for v in value if not (isinstance(v, dict) and v.get("$patch") in ("delete", "replace") and len(v) == 1)]
    return value


def _order(items: list, order: list, key: str | None) -> list:
    if key is None:
        pos = {json_key(v): i for i, v in enumerate(order)}
        return sorted(items, key=lambda v: pos.get(json_key(v), len(pos)))
    pos = {(o or {}).get(key): i for i, o in enumerate(order) if isinstance(o, dict)}
    inorder = sorted([i for i in items if isinstance(i, dict) and i.get(key) in pos], key=lambda i: pos[i.get(key)])
    rest = [i for i in items if not (isinstance(i, dict) and i.get(key) in pos)]
    return inorder + rest


def json_key(v):
    return repr(v)


def merge_list(orig: list, patch: list, key: str | None, field: str) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_clean(p) for p in patch if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if key is None:
        if field in PRIMITIVE_MERGE:
            return list(orig) + [p for p in patch if p not in orig]
        return _clean(patch)
    out = _copy_items(orig)
    for p in patch:
        if not isinstance(p, dict):
            raise PatchError(f"list {field!r} needs objects with merge key {key!r}")
        kv = p.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == kv), None)
        if p.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(_clean(p))
        else:
            out[idx] = _merge_map(out[idx], p)
    return out


def merge_map(orig: dict, patch: dict, owned: bool = False) -> dict:
    """Strategic-merge patch into a copy of orig. owned: the patch was decoded for this call alone
    (apply_patch's owned); the plain merge then puts its values into the result uncopied (their
    null members dropped in place)."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    if orjson is not None:
        # a patch of plain JSON values without a directive anywhere (a kubelet's status patch): the
        # same merge without looking for directives at every level (_merge_plain)
        try:
            text = orjson.dumps(patch, option=_STRICT)
        except TypeError:
            text = None
        if text is not None and b'"$' not in text:
            return _merge_plain(orig, patch, owned)
    return _merge_map(orig, patch)


def _merge_plain(orig, patch: dict, owned: bool = False) -> dict:
    """merge_map of a patch of plain JSON types (dict, list, str, int, float, bool, None: no subclass)
    that holds no directive: null deletes, objects merge, lists merge by their merge key or replace.
    owned: a value inserted where nothing existed is the patch's own (_take), not a copy (_clean)."""
    clean = _take if owned else _clean
    out = dict(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif type(v) is dict:
            cur = out.get(k)
            out[k] = _merge_plain(cur if isinstance(cur, dict) else {}, v, owned)
        elif type(v) is list:
            cur = out.get(k)
            if not isinstance(cur, list):
                cur = []
            key = _merge_key(k, cur, v)
            if key is not None and k not in PRIMITIVE_MERGE and not all(type(x) is dict for x in v):
                key = None
            if key is None:
                out[k] = list(cur) + [p for p in v if p not in cur] if k in PRIMITIVE_MERGE else clean(v)
                continue
            items = _copy_items(cur)
            for p in v:  # each a dict (checked above)
                kv = p.get(key)
                for i, o in enumerate(items):  # the first item with the same key
                    if isinstance(o, dict) and o.get(key) == kv:
                        items[i] = _merge_plain(o, p, owned)
                        break
                else:
                    items.append(clean(p))
            out[k] = items
        else:
            out[k] = v
    return out


def _merge_map(orig: dict, patch: dict) -> dict:
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    if patch.get("$patch") == "replace":
        return _clean({k: v for k, v in patch.items() if k != "$patch"})
    out = dict(orig) if isinstance(orig, dict) else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain or k in patch}
    orders = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v or []
        elif k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in (v or [])]
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        cur = out.get(k)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and v.get("$patch") == "delete":
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = _merge_map(cur if isinstance(cur, dict) else {}, v)
        elif isinstance(v, list):
            key = _merge_key(k, cur if isinstance(cur, list) else [], v)
            if key is not None and k not in PRIMITIVE_MERGE and not all(isinstance(x, dict) for x in v):
                key = None
            out[k] = merge_list(cur if isinstance(cur, list) else [], v, key, k)
        else:
            out[k] = v
    for f, order in orders.items():
        if isinstance(out.get(f), list):
            out[f] = _order(out[f], order, _merge_key(f, out[f]))
    return out
