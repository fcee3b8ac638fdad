"""RBAC privilege-escalation prevention, as Kubernetes' RBAC storage does it:

- creating or updating a Role/ClusterRole is allowed only if the requester already holds every
  permission its rules grant (in the Role's namespace; cluster-wide for a ClusterRole), or is
  allowed the verb `escalate` on it, or is in system:masters;
- creating or updating a RoleBinding/ClusterRoleBinding is allowed only if the requester may
  `bind` the role it refers to, or holds every permission of that role (in the binding's
  namespace), or is in system:masters.

Otherwise 403 with Kubernetes' message: `roles.rbac.authorization.k8s.io "r" is forbidden: user
"jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently
held:` and one line per missing permission (`{APIGroups:[""], Resources:["secrets"],
Verbs:["get" "list"]}`). An update that only changes ownerReferences or finalizers (the garbage
collector's) is not checked.

The requester is the `ACTING` context variable, set per request by the auth middleware; writes
made by the apiserver itself (bootstrap, clusterrole aggregation) carry none and are not checked.
"""
from __future__ import annotations

import contextvars
import json

from ..api import errors
from .authz import MASTERS, Attributes, RbacIndex

ACTING: contextvars.ContextVar = contextvars.ContextVar("acting_user", default=None)
RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = {"roles": "Role", "clusterroles": "ClusterRole"}
BINDINGS = ("rolebindings", "clusterrolebindings")
_GC_FIELDS = ("ownerReferences", "finalizers", "managedFields", "resourceVersion")


# -- coverage (validation.Covers) -------------------------------------------------------------
def breakdown(rule: dict) -> list[dict]:
    """One rule per (group, resource, verb[, resourceName]) and per (nonResourceURL, verb)."""
    out = []
    verbs, names = rule.get("verbs") or [], rule.get("resourceNames") or []
    for g in rule.get("apiGroups") or []:
        for r in rule.get("resources") or []:
            for v in verbs:
                if names:
                    out.extend({"apiGroups": [g], "resources": [r], "verbs": [v], "resourceNames": [n]} for n in names)
                else:
                    out.append({"apiGroups": [g], "resources": [r], "verbs": [v]})
    for u in rule.get("nonResourceURLs") or []:
        out.extend({"nonResourceURLs": [u], "verbs": [v]} for v in verbs)
    return out


def _resources_cover(owned: list, wanted: list) -> bool:
    if "*" in owned:
        return True
    for r in wanted:
        if r in owned:
            continue
        if "/" not in r or "*/" + r.split("/", 1)[1] not in owned:
            return False
    return True


def _url_covers(owned: str, wanted: str) -> bool:
    return owned == wanted or (owned.endswith("*") and wanted.startswith(owned.rstrip("*")))


def rule_covers(owner: dict, sub: dict) -> bool:
    """Does the owner's rule grant everything the (broken-down) sub rule grants?"""
    ov, og = owner.get("verbs") or [], owner.get("apiGroups") or []
    on = owner.get("resourceNames") or []
    verbs = "*" in ov or all(v in ov for v in sub.get("verbs") or [])
    groups = "*" in og or all(g in og for g in sub.get("apiGroups") or [])
    resources = _resources_cover(owner.get("resources") or [], sub.get("resources") or [])
    urls = all(any(_url_covers(o, u) for o in owner.get("nonResourceURLs") or [])
               for u in sub.get("nonResourceURLs") or [])
    names = sub.get("resourceNames") or []
    named = not on if not names else (not on or all(n in on for n in names))
    return verbs and groups and resources and urls and named


def missing_rules(owned: list[dict], wanted: list[dict]) -> list[dict]:
    """The broken-down parts of ``wanted`` that no rule of ``owned`` covers."""
    return [sub for rule in wanted for sub in breakdown(rule) if not any(rule_covers(o, sub) for o in owned)]


def compact(rules: list[dict]) -> list[dict]:
    """Rules for one group and resource (and at most one name) merged into one with all their verbs."""
    out, simple = [], {}
    for r in rules:
        names = r.get("resourceNames") or []
        if (len(names) > 1 or r.get("nonResourceURLs") or len(r.get("apiGroups") or []) != 1
                or len(r.get("resources") or []) != 1):
            out.append(r)
            continue
        k = (r["apiGroups"][0], r["resources"][0], names[0] if names else None)
        if k in simple:
            simple[k]["verbs"] = simple[k]["verbs"] + list(r.get("verbs") or [])
        else:
            simple[k] = {**r, "verbs": list(r.get("verbs") or [])}
    return out + list(simple.values())


def go_list(items) -> str:
    """A string list as Go's %q prints it: ["a" "b"]."""
    return "[" + " ".join(json.dumps(str(i)) for i in items) + "]"


def compact_string(rule: dict) -> str:
    """rbacv1helpers.CompactString: {APIGroups:[""], Resources:["pods"], Verbs:["get"]}."""
    parts = [f"{label}:{go_list(rule[k])}" for label, k in (
        ("APIGroups", "apiGroups"), ("Resources", "resources"), ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"), ("Verbs", "verbs")) if rule.get(k)]
    return "{" + ", ".join(parts) + "}"


def escalation_message(user, index: RbacIndex, namespace: str, rules: list[dict]) -> str | None:
    """None when ``user`` holds every permission of ``rules`` in ``namespace``; else why not."""
    owned = [r.raw for r, _ in index.rules_for(user.name, user.groups, namespace)]
    missing = missing_rules(owned, [r for r in rules if isinstance(r, dict)])
    if not missing:
        return None
    lines = sorted({compact_string(r) for r in compact(missing)})
    return (f'user "{user.name}" (groups={go_list(user.groups)}) is attempting to grant RBAC permissions '
            "not currently held:\n" + "\n".join(lines))


# -- the write check --------------------------------------------------------------------------
def _allowed(index: RbacIndex, user, verb: str, resource: str, namespace: str, name: str, group: str) -> bool:
    return index.authorize(Attributes(user.name, tuple(user.groups), verb, True, group, "*", resource, "",
                                      namespace, name))[0]


def _only_gc_fields(new: dict, old: dict | None) -> bool:
    if old is None:
        return False

    def rest(o):
        md = {k: v for k, v in (o.get("metadata") or {}).items() if k not in _GC_FIELDS}
        return {**o, "metadata": md}
    return rest(new) == rest(old)


def _forbidden(resource: str, name: str, why: str) -> errors.ApiError:
    return errors.ApiError(403, "Forbidden", f'{resource}.{RBAC_GROUP} "{name}" is forbidden: {why}',
                           {"name": name, "group": RBAC_GROUP, "kind": resource})


def role_reference_rules(index: RbacIndex, ref: dict, namespace: str, resource: str, name: str) -> list[dict]:
    """The rules of the role a binding refers to (403 naming it when it does not exist)."""
    kind, rname = ref.get("kind"), ref.get("name", "")
    if kind == "Role":
        role = index.roles.get((namespace, rname))
        if role is None:
            raise _forbidden(resource, name, f'roles.{RBAC_GROUP} "{rname}" not found')
        return [r for r in role.get("rules") or [] if isinstance(r, dict)]
    if kind == "ClusterRole":
        if rname not in index.cluster_roles:
            raise _forbidden(resource, name, f'clusterroles.{RBAC_GROUP} "{rname}" not found')
        return index.cluster_role_raw_rules(rname)
    raise _forbidden(resource, name, f'unsupported role reference kind: "{kind}"')


def check_write(index: RbacIndex, user, resource: str, new: dict, old: dict | None) -> None:
    """Raise 403 if ``user`` writing ``new`` (over ``old``) to an RBAC ``resource`` escalates."""
    if (resource not in ROLE_KINDS and resource not in BINDINGS) or user is None or MASTERS in user.groups \
            or _only_gc_fields(new, old):
        return
    md = new.get("metadata") or {}
    name, ns = md.get("name", ""), md.get("namespace") or ""
    if resource in ROLE_KINDS:
        if _allowed(index, user, "escalate", resource, ns, name, RBAC_GROUP):
            return
        why = escalation_message(user, index, ns, new.get("rules") or [])
    else:                                   # a binding
        ref = new.get("roleRef") or {}
        target = {"Role": "roles", "ClusterRole": "clusterroles"}.get(ref.get("kind"))
        if target and _allowed(index, user, "bind", target, ns, ref.get("name", ""), ref.get("apiGroup", "")):
            return
        why = escalation_message(user, index, ns, role_reference_rules(index, ref, ns, resource, name))
    if why:
        raise _forbidden(resource, name, why)
