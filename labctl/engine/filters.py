"""Jinja2 filters and tests that Ansible roles commonly use.

Written from the documented behaviour of Ansible's filters; only the common
ones (see ``FILTERS`` and ``TESTS`` at the bottom).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import uuid
from collections.abc import Mapping

import yaml
from jinja2 import Undefined


class FilterError(Exception):
    pass


def to_bool(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in ("yes", "on", "1", "true", "y", "t")


def _plain(data):
    """Turn loader subclasses (LineDict...) into plain containers for dumping."""
    if isinstance(data, Mapping):
        return {_plain(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def to_yaml(data, indent=None, sort_keys=True, default_flow_style=None, **kw):
    return yaml.safe_dump(_plain(data), indent=indent, sort_keys=sort_keys,
                          default_flow_style=default_flow_style, allow_unicode=True, width=kw.get("width", 80))


def to_nice_yaml(data, indent=4, sort_keys=True, **kw):
    return yaml.safe_dump(_plain(data), indent=indent, sort_keys=sort_keys, default_flow_style=False,
                          allow_unicode=True, width=kw.get("width", 80))


def to_json(data, **kw):
    return json.dumps(_plain(data), **kw)


def to_nice_json(data, indent=4, sort_keys=True, **kw):
    return json.dumps(_plain(data), indent=indent, sort_keys=sort_keys, separators=(",", ": "))


def from_yaml(text):
    return yaml.safe_load(text) if isinstance(text, str) else text


def from_yaml_all(text):
    return list(yaml.safe_load_all(text))


def from_json(text):
    return json.loads(text)


def b64encode(s, encoding="utf-8"):
    if isinstance(s, str):
        s = s.encode(encoding)
    return base64.b64encode(s).decode("ascii")


def b64decode(s, encoding="utf-8"):
    return base64.b64decode(s).decode(encoding)


def regex_replace(value, pattern="", replacement="", ignorecase=False, multiline=False, count=0):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.compile(pattern, flags).sub(replacement, str(value), count=count)


def regex_search(value, pattern, *groups, ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    m = re.search(pattern, str(value), flags)
    if not m:
        return None
    if not groups:
        return m.group(0)
    out = []
    for g in groups:
        if isinstance(g, str) and g.startswith("\\g<"):
            out.append(m.group(g[3:-1]))
        elif isinstance(g, str) and g.startswith("\\"):
            out.append(m.group(int(g[1:])))
        else:
            out.append(m.group(g))
    return out


def regex_findall(value, pattern, ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.findall(pattern, str(value), flags)


def regex_escape(value):
    return re.escape(str(value))


def dict2items(d, key_name="key", value_name="value"):
    if not isinstance(d, Mapping):
        raise FilterError(f"dict2items requires a dictionary, got {type(d).__name__}")
    return [{key_name: k, value_name: v} for k, v in d.items()]


def items2dict(items, key_name="key", value_name="value"):
    return {i[key_name]: i[value_name] for i in items}


def combine(*dicts, recursive=False, list_merge="replace"):
    out: dict = {}
    for d in dicts:
        if isinstance(d, (list, tuple)):
            for x in d:
                out = combine(out, x, recursive=recursive, list_merge=list_merge)
            continue
        for k, v in d.items():
            if recursive and isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
                out[k] = combine(out[k], v, recursive=True, list_merge=list_merge)
            elif list_merge == "append" and isinstance(v, list) and isinstance(out.get(k), list):
                out[k] = out[k] + v
            else:
                out[k] = v
    return out


def flatten(lst, levels=None):
    out = []
    for x in lst:
        if isinstance(x, (list, tuple)) and (levels is None or levels > 0):
            out.extend(flatten(x, None if levels is None else levels - 1))
        elif x is not None:
            out.append(x)
    return out


def unique(lst):
    out = []
    for x in lst:
        if x not in out:
            out.append(x)
    return out


def ternary(value, true_val, false_val, none_val=None):
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def hash_filter(data, algo="sha1"):
    h = hashlib.new(algo)
    h.update(data.encode() if isinstance(data, str) else data)
    return h.hexdigest()


def checksum(data):
    return hash_filter(data, "sha1")


def quote(s):
    return shlex.quote(str(s))


def mandatory(value, msg=None):
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def default(value, default_value="", boolean=False):
    if isinstance(value, Undefined) or (boolean and not value):
        return default_value
    return value


def basename(p):
    return os.path.basename(p)


def dirname(p):
    return os.path.dirname(p)


def splitext(p):
    return list(os.path.splitext(p))


def expanduser(p):
    return os.path.expanduser(p)


def realpath(p):
    return os.path.realpath(p)


def path_join(parts):
    return os.path.join(*parts)


def to_uuid(s, namespace="361E6D51-FAEC-444A-9079-341386DA8E2E"):
    return str(uuid.uuid5(uuid.UUID(namespace), str(s)))


def zip_filter(*lists):
    return [list(x) for x in zip(*lists)]


def product_filter(*lists):
    import itertools
    return [list(x) for x in itertools.product(*lists)]


def difference(a, b):
    return [x for x in unique(a) if x not in b]


def intersect(a, b):
    return [x for x in unique(a) if x in b]


def union(a, b):
    return unique(list(a) + list(b))


def symmetric_difference(a, b):
    return [x for x in union(a, b) if not (x in a and x in b)]


def subelements(lst, key):
    return [[x, y] for x in lst for y in x[key]]


def split(s, sep=None, maxsplit=-1):
    return str(s).split(sep, maxsplit)


def comment(text, style="plain", decoration="# "):
    return "\n".join(decoration + line if line else decoration.rstrip() for line in str(text).split("\n"))


def type_debug(v):
    return type(v).__name__


def bool_filter(v):
    return to_bool(v)


def human_to_bytes(s):
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGTP]?)i?B?\s*", str(s), re.I)
    if not m:
        raise FilterError(f"human_to_bytes: cannot parse {s!r}")
    mult = 1024 ** " KMGTP".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * mult)


def extract(item, container, morekeys=None):
    """container[item], then each of morekeys in turn (Ansible's extract)."""
    value = container[item]
    keys = morekeys if isinstance(morekeys, (list, tuple)) else ([] if morekeys is None else [morekeys])
    for key in keys:
        value = value[key]
    return value


def ipaddr_basic(value, query=""):
    """A small subset of ipaddr/ansible.utils.ipaddr: address, network, prefix, netmask, 'N' (nth host)."""
    import ipaddress
    iface = ipaddress.ip_interface(str(value))
    if query in ("", "address"):
        return str(iface.ip)
    if query == "network":
        return str(iface.network.network_address)
    if query == "prefix":
        return iface.network.prefixlen
    if query == "netmask":
        return str(iface.network.netmask)
    if query in ("net", "subnet", "cidr"):
        return str(iface.network)
    if str(query).lstrip("-").isdigit():
        return f"{iface.network[int(query)]}/{iface.network.prefixlen}"
    raise FilterError(f"ipaddr query {query!r} not supported")


def nthhost(value, n):
    import ipaddress
    return str(ipaddress.ip_network(str(value), strict=False)[int(n)])


def to_datetime(s, fmt="%Y-%m-%d %H:%M:%S"):
    import datetime
    return datetime.datetime.strptime(s, fmt)


def strftime(fmt, secs=None):
    import time
    return time.strftime(fmt, time.localtime(secs) if secs is not None else time.localtime())


def dict_filter(pairs):
    return dict(pairs)


FILTERS = {
    "extract": extract,
    "bool": bool_filter, "to_yaml": to_yaml, "to_nice_yaml": to_nice_yaml, "to_json": to_json,
    "to_nice_json": to_nice_json, "from_yaml": from_yaml, "from_yaml_all": from_yaml_all,
    "from_json": from_json, "b64encode": b64encode, "b64decode": b64decode,
    "regex_replace": regex_replace, "regex_search": regex_search, "regex_findall": regex_findall,
    "regex_escape": regex_escape, "dict2items": dict2items, "items2dict": items2dict,
    "combine": combine, "flatten": flatten, "unique": unique, "ternary": ternary,
    "hash": hash_filter, "checksum": checksum, "sha1": lambda s: hash_filter(s, "sha1"),
    "md5": lambda s: hash_filter(s, "md5"), "quote": quote, "mandatory": mandatory,
    "default": default, "d": default, "basename": basename, "dirname": dirname,
    "splitext": splitext, "expanduser": expanduser, "realpath": realpath, "path_join": path_join,
    "to_uuid": to_uuid, "zip": zip_filter, "product": product_filter, "difference": difference,
    "intersect": intersect, "union": union, "symmetric_difference": symmetric_difference,
    "subelements": subelements, "split": split, "comment": comment, "type_debug": type_debug,
    "human_to_bytes": human_to_bytes, "extract": extract, "ipaddr": ipaddr_basic,
    "ansible.utils.ipaddr": ipaddr_basic, "nthhost": nthhost, "ansible.utils.nthhost": nthhost,
    "to_datetime": to_datetime, "strftime": strftime, "items": dict2items,
    "ansible.builtin.to_json": to_json, "ansible.builtin.to_yaml": to_yaml,
    "ansible.builtin.to_nice_yaml": to_nice_yaml, "ansible.builtin.to_nice_json": to_nice_json,
    "ansible.builtin.b64encode": b64encode, "ansible.builtin.b64decode": b64decode,
    "ansible.builtin.regex_replace": regex_replace, "ansible.builtin.combine": combine,
    "log": lambda x, base=None: __import__("math").log(x, base) if base else __import__("math").log(x),
    "pow": lambda x, y: x ** y, "root": lambda x, n=2: x ** (1.0 / n),
}


# -- tests -------------------------------------------------------------------
def _result_flag(name):
    def t(result):
        if not isinstance(result, Mapping):
            raise FilterError(f"the '{name}' test expects a task result (a dict)")
        if name == "succeeded":
            return not result.get("failed", False)
        return bool(result.get(name, False))
    return t


def _match(value, pattern, ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.match(pattern, str(value), flags) is not None


def _search(value, pattern, ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.search(pattern, str(value), flags) is not None


def _version(a, b, op="eq"):
    def norm(v):
        return [int(x) if x.isdigit() else x for x in re.split(r"[.\-+]", str(v))]
    x, y = norm(a), norm(b)
    ops = {"eq": x == y, "==": x == y, "ne": x != y, "!=": x != y, "lt": x < y, "<": x < y,
           "le": x <= y, "<=": x <= y, "gt": x > y, ">": x > y, "ge": x >= y, ">=": x >= y}
    return ops[op]


TESTS = {
    "changed": _result_flag("changed"), "failed": _result_flag("failed"),
    "skipped": _result_flag("skipped"), "succeeded": _result_flag("succeeded"),
    "success": _result_flag("succeeded"), "failure": _result_flag("failed"),
    "change": _result_flag("changed"), "skip": _result_flag("skipped"),
    "match": _match, "search": _search, "regex": _search,
    "version": _version, "version_compare": _version,
    "subset": lambda a, b: set(a) <= set(b), "superset": lambda a, b: set(a) >= set(b),
    "contains": lambda seq, x: x in seq, "any": any, "all": all,
    "file": os.path.isfile, "directory": os.path.isdir, "exists": os.path.exists,
    "link": os.path.islink, "abs": os.path.isabs,
    "truthy": lambda v: bool(v), "falsy": lambda v: not v,
}
