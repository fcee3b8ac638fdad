"""User impersonation (`kubectl --as USER --as-group G`): the Impersonate-User,
Impersonate-Group, Impersonate-Uid and Impersonate-Extra-<key> headers, allowed only when RBAC
lets the requester `impersonate` each of them, as Kubernetes' impersonation filter does:

  Impersonate-User u                              impersonate users/u (core group)
  Impersonate-User system:serviceaccount:ns:name  impersonate serviceaccounts/name in namespace ns
  Impersonate-Group g                             impersonate groups/g
  Impersonate-Uid x                               impersonate uids/x (authentication.k8s.io)
  Impersonate-Extra-<key> v                       impersonate userextras/<key> named v (same group)

The impersonated user has exactly the groups asked for (a ServiceAccount, when none are asked
for, its two ServiceAccount groups) plus system:authenticated.
"""
from __future__ import annotations

from ..api import errors
from .authz import SA_PREFIX, Attributes, RbacIndex, forbidden, service_account_groups
from .tls import UserInfo

HEADERS = ("Impersonate-User", "Impersonate-Group", "Impersonate-Uid")
_EXTRA = "impersonate-extra-"


def requested(headers) -> bool:
    """Whether a request asks to impersonate anyone."""
    return any(h in headers for h in HEADERS) or any(k.lower().startswith(_EXTRA) for k in headers)


def impersonate(headers, user: UserInfo, index: RbacIndex) -> UserInfo:
    """The user the request acts as; ApiError 403 when the requester may not impersonate it."""
    name = headers.get("Impersonate-User")
    groups = [g for g in headers.getall("Impersonate-Group", [])]
    uid = headers.get("Impersonate-Uid")
    extras = [(k[len(_EXTRA):], v) for k, v in headers.items() if k.lower().startswith(_EXTRA)]
    if not name:
        asked = ["Impersonate-Group"] * bool(groups) + ["Impersonate-Uid"] * bool(uid) + \
            ["Impersonate-Extra"] * bool(extras)
        raise errors.bad_request(f"requested {asked} without impersonating a user")
    checks = []
    if name.startswith(SA_PREFIX) and name.count(":") == 3:
        ns, sa = name[len(SA_PREFIX):].split(":")
        checks.append(Attributes(user.name, user.groups, "impersonate", True, "", "v1", "serviceaccounts", "", ns, sa))
    else:
        checks.append(Attributes(user.name, user.groups, "impersonate", True, "", "v1", "users", "", "", name))
    checks += [Attributes(user.name, user.groups, "impersonate", True, "", "v1", "groups", "", "", g) for g in groups]
    if uid:
        checks.append(Attributes(user.name, user.groups, "impersonate", True, "authentication.k8s.io", "v1", "uids",
                                 "", "", uid))
    checks += [Attributes(user.name, user.groups, "impersonate", True, "authentication.k8s.io", "v1", "userextras",
                          k.lower(), "", v) for k, v in extras]
    for a in checks:
        allowed, _ = index.authorize(a)
        if not allowed:
            raise forbidden(a)
    if not groups and name.startswith(SA_PREFIX) and name.count(":") == 3:
        groups = list(service_account_groups(name.split(":")[2]))
    if name == "system:anonymous":
        if "system:unauthenticated" not in groups:
            groups.append("system:unauthenticated")
    elif "system:authenticated" not in groups:
        groups.append("system:authenticated")
    return UserInfo(name, tuple(groups))
