"""The default RBAC policy at start (labkube.apiserver.authz_bootstrap): created once, and on a
later start the rules and subjects a newer default has are added to what is stored, without
duplicates, keeping an admin's additions, and not at all where autoupdate is "false"."""
import copy

from labkube.api.resources import resource
from labkube.apiserver import authz_bootstrap
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.authz_bootstrap import CLUSTER_ROLES, bootstrap_rbac, reconciled, rule
from labkube.apiserver.registry import Registry
from labkube.storage import open_storage

ROLES, BINDINGS = resource("clusterroles"), resource("clusterrolebindings")


async def _registry(tmp_path):
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / "r.db"), "fsync": False})
    return Registry(storage, ServiceAllocator("10.96.0.0/12"))


async def test_a_second_start_changes_nothing(tmp_path):
    reg = await _registry(tmp_path)
    try:
        await bootstrap_rbac(reg)
        before = {r["metadata"]["name"]: r["metadata"]["resourceVersion"]
                  for r in (await reg.list(ROLES, None))[0] + (await reg.list(BINDINGS, None))[0]}
        assert {"cluster-admin", "view", "system:node"} <= set(before)
        await bootstrap_rbac(reg)
        after = {r["metadata"]["name"]: r["metadata"]["resourceVersion"]
                 for r in (await reg.list(ROLES, None))[0] + (await reg.list(BINDINGS, None))[0]}
        assert after == before
    finally:
        await reg.storage.close()


async def test_a_newer_default_adds_its_rules_and_keeps_the_admins(tmp_path, monkeypatch):
    reg = await _registry(tmp_path)
    try:
        await bootstrap_rbac(reg)
        mine = rule(["get"], [""], ["configmaps"])

        def edit(cur):
            cur["rules"] = cur["rules"] + [mine]
            return cur
        await reg.guaranteed_update(ROLES, None, "system:kube-scheduler", edit)
        await reg.guaranteed_update(ROLES, None, "system:node-proxier",
                                    lambda cur: {**cur, "metadata": {**cur["metadata"], "annotations": {
                                        authz_bootstrap.AUTOUPDATE: "false"}}})
        newer = rule(["patch"], [""], ["persistentvolumes"])
        roles = copy.deepcopy(CLUSTER_ROLES)
        for r in roles:
            if r["metadata"]["name"] in ("system:kube-scheduler", "system:node-proxier"):
                r["rules"].append(newer)
        monkeypatch.setattr(authz_bootstrap, "CLUSTER_ROLES", roles)
        await bootstrap_rbac(reg)
        sched = await reg.get(ROLES, None, "system:kube-scheduler")
        assert mine in sched["rules"] and newer in sched["rules"]
        assert len(sched["rules"]) == len(roles[[r["metadata"]["name"] for r in roles].index(
            "system:kube-scheduler")]["rules"]) + 1
        assert newer not in (await reg.get(ROLES, None, "system:node-proxier"))["rules"]
    finally:
        await reg.storage.close()


def test_reconciled_leaves_aggregated_roles_to_their_aggregation():
    view = next(r for r in CLUSTER_ROLES if r["metadata"]["name"] == "view")
    assert reconciled({**view, "rules": []}, view) is None
