"""RBAC escalation checks (authz_escalation.py): which parts of a rule the requester's own rules
cover, and the message listing what is missing, as Kubernetes words it."""
import pytest

from labkube.apiserver.authz import RbacIndex
from labkube.apiserver.authz_escalation import compact, compact_string, escalation_message, missing_rules
from labkube.apiserver.tls import UserInfo


def rule(groups, resources, verbs, names=None, urls=None):
    r = {"verbs": verbs}
    if groups is not None:
        r["apiGroups"] = groups
    if resources is not None:
        r["resources"] = resources
    if names:
        r["resourceNames"] = names
    if urls:
        r["nonResourceURLs"] = urls
    return r


@pytest.mark.parametrize("case, owned, wanted, missing", [
    ("exact", [rule([""], ["pods"], ["get"])], [rule([""], ["pods"], ["get"])], []),
    ("star verbs, groups, resources", [rule(["*"], ["*"], ["*"])], [rule(["apps"], ["deployments"], ["delete"])], []),
    ("one verb more", [rule([""], ["pods"], ["get"])], [rule([""], ["pods"], ["get", "delete"])],
     [rule([""], ["pods"], ["delete"])]),
    ("another group", [rule([""], ["pods"], ["get"])], [rule(["apps"], ["pods"], ["get"])], [rule(["apps"], ["pods"], ["get"])]),
    ("subresource by */status", [rule([""], ["*/status"], ["get"])], [rule([""], ["pods/status"], ["get"])], []),
    ("the resource does not give its subresources", [rule([""], ["pods"], ["get"])], [rule([""], ["pods/log"], ["get"])],
     [rule([""], ["pods/log"], ["get"])]),
    ("named owner: only those names", [rule([""], ["secrets"], ["get"], ["a"])],
     [rule([""], ["secrets"], ["get"], ["a", "b"])], [rule([""], ["secrets"], ["get"], ["b"])]),
    ("named owner does not give all names", [rule([""], ["secrets"], ["get"], ["a"])], [rule([""], ["secrets"], ["get"])],
     [rule([""], ["secrets"], ["get"])]),
    ("unnamed owner gives any name", [rule([""], ["secrets"], ["get"])], [rule([""], ["secrets"], ["get"], ["a"])], []),
    ("URL prefix", [rule(None, None, ["get"], urls=["/logs/*"])], [rule(None, None, ["get"], urls=["/logs/x", "/metrics"])],
     [rule(None, None, ["get"], urls=["/metrics"])]),
    ("a resource rule gives no URL", [rule(["*"], ["*"], ["*"])], [rule(None, None, ["get"], urls=["/healthz"])],
     [rule(None, None, ["get"], urls=["/healthz"])]),
])
def test_missing_rules(case, owned, wanted, missing):
    assert missing_rules(owned, wanted) == missing, case


@pytest.mark.parametrize("case, rules, lines", [
    ("verbs of one resource merged", [rule([""], ["pods"], ["get"]), rule([""], ["pods"], ["list"])],
     ['{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}']),
    ("names kept apart", [rule([""], ["secrets"], ["get"], ["a"]), rule([""], ["secrets"], ["get"], ["b"])],
     ['{APIGroups:[""], Resources:["secrets"], ResourceNames:["a"], Verbs:["get"]}',
      '{APIGroups:[""], Resources:["secrets"], ResourceNames:["b"], Verbs:["get"]}']),
    ("URLs", [rule(None, None, ["get"], urls=["/metrics"])], ['{NonResourceURLs:["/metrics"], Verbs:["get"]}']),
])
def test_compact_strings(case, rules, lines):
    assert sorted(compact_string(r) for r in compact(rules)) == lines, case


def test_message_names_the_user_groups_and_sorted_missing_rules():
    ix = RbacIndex()
    ix.put("roles", "dev", "r", {"metadata": {"name": "r", "namespace": "dev"}, "rules": [rule([""], ["pods"], ["get"])]})
    ix.put("rolebindings", "dev", "b", {"metadata": {"name": "b", "namespace": "dev"},
                                        "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "jane"}]})
    jane = UserInfo("jane", ("devs", "system:authenticated"))
    assert escalation_message(jane, ix, "dev", [rule([""], ["pods"], ["get"])]) is None
    assert escalation_message(jane, ix, "qa", [rule([""], ["pods"], ["get"])]) is not None   # held in dev only
    assert escalation_message(jane, ix, "dev", [rule(["", "apps"], ["pods", "deployments"], ["get", "watch"])]) == (
        'user "jane" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["deployments"], Verbs:["get" "watch"]}\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["watch"]}\n'
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "watch"]}\n'
        '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "watch"]}')
