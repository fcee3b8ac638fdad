"""Impersonation headers (labkube.apiserver.impersonation) and ServiceAccount tokens
(labkube.apiserver.satokens) on their own: who a request becomes, what must be allowed for it,
and which tokens authenticate."""
import pytest
from multidict import CIMultiDict

from labkube.api.errors import ApiError
from labkube.apiserver.authz import RbacIndex
from labkube.apiserver.impersonation import impersonate, requested
from labkube.apiserver.satokens import TokenIssuer
from labkube.apiserver.tls import UserInfo

ADMIN = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))
JANE = UserInfo("jane", ("system:authenticated",))


def _index_letting_jane(*rules) -> RbacIndex:
    ix = RbacIndex()
    ix.put("clusterroles", "", "imp", {"metadata": {"name": "imp"}, "rules": list(rules)})
    ix.put("clusterrolebindings", "", "imp", {"metadata": {"name": "imp"},
                                               "roleRef": {"kind": "ClusterRole", "name": "imp"},
                                               "subjects": [{"kind": "User", "name": "jane"}]})
    return ix


def imp(resources, names=None, group=""):
    r = {"verbs": ["impersonate"], "apiGroups": [group], "resources": resources}
    return {**r, "resourceNames": names} if names else r


@pytest.mark.parametrize("headers,want", [
    ([("Impersonate-User", "bob")], ("bob", ("system:authenticated",))),
    ([("Impersonate-User", "bob"), ("Impersonate-Group", "a"), ("Impersonate-Group", "b")],
     ("bob", ("a", "b", "system:authenticated"))),
    ([("Impersonate-User", "system:serviceaccount:dev:reader")],
     ("system:serviceaccount:dev:reader", ("system:serviceaccounts", "system:serviceaccounts:dev",
                                           "system:authenticated"))),
    ([("Impersonate-User", "system:serviceaccount:dev:reader"), ("Impersonate-Group", "x")],
     ("system:serviceaccount:dev:reader", ("x", "system:authenticated"))),
    ([("Impersonate-User", "system:anonymous")], ("system:anonymous", ("system:unauthenticated",))),
])
def test_who_the_request_becomes(headers, want):
    u = impersonate(CIMultiDict(headers), ADMIN, RbacIndex())
    assert (u.name, u.groups) == want


@pytest.mark.parametrize("rules,headers,allowed", [
    ([imp(["users"])], [("Impersonate-User", "bob")], True),
    ([imp(["users"], ["carl"])], [("Impersonate-User", "bob")], False),
    ([imp(["users"])], [("Impersonate-User", "bob"), ("Impersonate-Group", "devs")], False),  # groups need their own
    ([imp(["users", "groups"])], [("Impersonate-User", "bob"), ("Impersonate-Group", "devs")], True),
    ([imp(["users"])], [("Impersonate-User", "system:serviceaccount:dev:reader")], False),
    ([imp(["serviceaccounts"])], [("Impersonate-User", "system:serviceaccount:dev:reader")], True),
    ([imp(["users"])], [("Impersonate-User", "bob"), ("Impersonate-Uid", "1")], False),
    ([imp(["users"]), imp(["uids"], group="authentication.k8s.io")],
     [("Impersonate-User", "bob"), ("Impersonate-Uid", "1")], True),
    ([imp(["users"]), imp(["userextras/scopes"], group="authentication.k8s.io")],
     [("Impersonate-User", "bob"), ("Impersonate-Extra-Scopes", "view")], True),
])
def test_what_the_requester_must_be_allowed(rules, headers, allowed):
    ix = _index_letting_jane(*rules)
    if allowed:
        assert impersonate(CIMultiDict(headers), JANE, ix).name == headers[0][1]
    else:
        with pytest.raises(ApiError) as e:
            impersonate(CIMultiDict(headers), JANE, ix)
        assert e.value.code == 403 and 'User "jane" cannot impersonate resource' in e.value.message


def test_groups_without_a_user_are_rejected():
    assert requested(CIMultiDict([("Impersonate-Group", "x")]))
    assert not requested(CIMultiDict([("Accept", "application/json")]))
    with pytest.raises(ApiError) as e:
        impersonate(CIMultiDict([("Impersonate-Group", "x")]), ADMIN, RbacIndex())
    assert e.value.code == 400 and "without impersonating a user" in e.value.message


def test_service_account_tokens():
    issuer = TokenIssuer(b"k" * 32)
    accounts = {("dev", "reader"): "uid-1"}
    token, exp = issuer.issue("dev", "reader", "uid-1", ["https://kubernetes.default.svc.cluster.local"], 3600,
                              now=1_000_000_000.0)
    assert exp == 1_000_003_600
    claims = issuer.claims(token, now=1_000_000_100.0)
    assert claims["sub"] == "system:serviceaccount:dev:reader"
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": "reader", "uid": "uid-1"}
    assert issuer.claims(token, now=1_000_003_600.0) is None                   # expired
    assert TokenIssuer(b"x" * 32).claims(token, now=1_000_000_100.0) is None    # another key
    fresh, _ = issuer.issue("dev", "reader", "uid-1", ["https://kubernetes.default.svc.cluster.local"], 600)
    u = issuer.user(fresh, accounts)
    assert u.name == "system:serviceaccount:dev:reader" and "system:serviceaccounts:dev" in u.groups
    assert issuer.user(fresh, {("dev", "reader"): "uid-2"}) is None             # recreated account
    assert issuer.user(fresh, {}) is None                                       # deleted account
    other, _ = issuer.issue("dev", "reader", "uid-1", ["vault"], 600)
    assert issuer.user(other, accounts) is None                                 # not for this apiserver
