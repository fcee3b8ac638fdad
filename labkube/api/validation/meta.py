"""Validation of metadata common to every object: name, namespace, labels, annotations."""
from __future__ import annotations

import re

from .field import FieldError, Path, forbidden, invalid, required
from .names import (check_annotations, check_labels, dns1123_label, dns1123_subdomain, label_value,
                    qualified_name)

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  "
               "or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def dns1035_label(value: str) -> list[str]:
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1035.match(value):
        out.append(DNS1035_MSG)
    return out


def path_segment(value: str) -> list[str]:
    """RBAC names: anything that is a valid URL path segment."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


NAME_RULES = {"subdomain": dns1123_subdomain, "label": dns1123_label,
              "dns1035": dns1035_label, "segment": path_segment}


# label and annotation keys, label values and namespaces that passed their rule (pure functions of
# the string, so a string seen clean is clean again): objects of one template repeat them on every
# write. Bounded: emptied when full
_CLEAN_KEYS: set[str] = set()
_CLEAN_VALUES: set[str] = set()
_CLEAN_NS: set[str] = set()
_CLEAN_MAX = 4096


def _clean(value, memo: set, rule) -> bool:
    """Whether rule(value) finds nothing, for a str value (False for anything else: the full checks
    then answer, errors and exceptions as before)."""
    if type(value) is not str:
        return False
    if value in memo:
        return True
    if rule(value):
        return False
    if len(memo) >= _CLEAN_MAX:
        memo.clear()
    memo.add(value)
    return True


def _clean_meta(md: dict, namespaced: bool, name_rule: str) -> bool:
    """True only when validate_meta's full checks would find no error (and raise nothing) in md:
    the common case, told without building the paths the errors would name. False when unsure."""
    name = md.get("name")
    if type(name) is not str or not name or NAME_RULES[name_rule](name):
        return False
    ns = md.get("namespace")
    if namespaced:
        if not _clean(ns, _CLEAN_NS, dns1123_label):
            return False
    elif ns:
        return False
    labels = md.get("labels")
    if labels is not None:
        if type(labels) is not dict:
            return False
        for k, v in labels.items():
            if not _clean(k, _CLEAN_KEYS, qualified_name) or not _clean(v, _CLEAN_VALUES, label_value):
                return False
    ann = md.get("annotations")
    if ann is not None:
        if type(ann) is not dict:
            return False
        total = 0
        for k, v in ann.items():
            if type(v) is not str or not _clean(k, _CLEAN_KEYS, qualified_name):
                return False
            total += len(k) + len(v)
        if total > 256 * 1024:
            return False
    refs = md.get("ownerReferences")
    if refs:
        if type(refs) is not list:
            return False
        for ref in refs:
            if type(ref) is not dict or not (ref.get("apiVersion") and ref.get("kind") and ref.get("name")
                                             and ref.get("uid")):
                return False
    fins = md.get("finalizers")
    return fins is None or isinstance(fins, list)


def validate_meta(obj: dict, namespaced: bool, name_rule: str = "subdomain") -> list[FieldError]:
    md = obj.get("metadata")
    if type(md) is dict and _clean_meta(md, namespaced, name_rule):
        return []
    return _validate_meta(md, namespaced, name_rule)


def _validate_meta(md, namespaced: bool, name_rule: str) -> list[FieldError]:
    """validate_meta's full checks, each error with its path."""
    p = Path("metadata")
    if not isinstance(md, dict):
        return [required(p)]
    errs: list[FieldError] = []
    name = md.get("name")
    if not name:
        errs.append(required(p.child("name"), "name or generateName is required"))
    elif not isinstance(name, str):
        errs.append(invalid(p.child("name"), name, "must be a string"))
    else:
        for m in NAME_RULES[name_rule](name):
            errs.append(invalid(p.child("name"), name, m))
    ns = md.get("namespace")
    if namespaced:
        if not ns:
            errs.append(required(p.child("namespace")))
        else:
            for m in dns1123_label(ns):
                errs.append(invalid(p.child("namespace"), ns, m))
    elif ns:
        errs.append(forbidden(p.child("namespace"), "not allowed on this type"))
    errs += check_labels(md.get("labels"), p.child("labels"))
    errs += check_annotations(md.get("annotations"), p.child("annotations"))
    for i, ref in enumerate(md.get("ownerReferences") or []):
        rp = p.child("ownerReferences").index(i)
        for f in ("apiVersion", "kind", "name", "uid"):
            if not (ref or {}).get(f):
                errs.append(required(rp.child(f)))
    fins = md.get("finalizers")
    if fins is not None and not isinstance(fins, list):
        errs.append(invalid(p.child("finalizers"), fins, "must be a list of strings"))
    return errs


def validate_meta_update(new: dict, old: dict) -> list[FieldError]:
    p = Path("metadata")
    errs = []
    nm, om = new.get("metadata") or {}, old.get("metadata") or {}
    for f in ("name", "namespace", "uid", "creationTimestamp"):
        if om.get(f) and nm.get(f) != om.get(f):
            errs.append(invalid(p.child(f), nm.get(f), "field is immutable"))
    return errs
