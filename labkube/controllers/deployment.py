"""Deployment controller: own ReplicaSets `<deploy>-<pod-template-hash>`, roll them per strategy,
keep revisions and history, publish status.

One sync: claim the deployment's ReplicaSets (controller ownerReference with its uid),
find the "new" one (template semantically equal to the deployment's), then scale only
(paused, or a replicas change), or roll out (deployment_rollout), clean up old history
beyond revisionHistoryLimit once complete, and write status.
"""
from __future__ import annotations

import copy

from labkube.api.memo import exact_copy
from labkube.client.errors import ApiError
from labkube.client.selectors import selector_matches

from .base import Controller
from .deployment_rollout import RolloutMixin
from .deployment_status import compute_status, is_complete
from .deployment_util import (DESIRED, HASH_LABEL, MAX_REPLICAS, REVISION, SKIP_ANNOTATIONS,
                              replicas_of, revision, rs_replicas, surge_and_unavailable, template_hash,
                              templates_equal)
from .util import controller_ref, owner_ref


def by_age(rs: dict) -> tuple:
    return (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"])


class DeploymentController(RolloutMixin, Controller):
    name = "deployment"

    def setup(self) -> None:
        self.deploys = self.informer("deployments")
        self.rs_inf = self.informer("replicasets")
        self.pods = self.informer("pods")
        self.deploys.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self.enqueue)
        self.rs_inf.add_handlers(self._rs_event, lambda o, n: self._rs_changed(o, n), self._rs_event)
        self.pods.add_handlers(None, None, self._pod_deleted)

    def _deploy_key_for(self, rs: dict) -> list[str]:
        ns = rs["metadata"]["namespace"]
        ref = controller_ref(rs)
        if ref is not None:
            if ref.get("kind") != "Deployment":
                return []
            d = self.deploys.get(f"{ns}/{ref['name']}")
            return [f"{ns}/{ref['name']}"] if d and d["metadata"]["uid"] == ref.get("uid") else []
        return [f"{ns}/{d['metadata']['name']}" for d in self.deploys.items()
                if d["metadata"]["namespace"] == ns
                and selector_matches((d.get("spec") or {}).get("selector"), rs["metadata"].get("labels"))]

    def _rs_event(self, rs: dict) -> None:
        for k in self._deploy_key_for(rs):
            self.queue.add(k)

    def _rs_changed(self, old: dict, new: dict) -> None:
        if controller_ref(old) != controller_ref(new):
            self._rs_event(old)
        self._rs_event(new)

    def _pod_deleted(self, pod: dict) -> None:
        ref = controller_ref(pod)     # Recreate waits for old pods to be gone
        if ref and ref.get("kind") == "ReplicaSet":
            rs = self.rs_inf.get(f"{pod['metadata']['namespace']}/{ref['name']}")
            if rs is not None:
                self._rs_event(rs)

    # -- ReplicaSets of a deployment ---------------------------------------------------------

    async def claim_replicasets(self, d: dict) -> list[dict]:
        ns, uid = d["metadata"]["namespace"], d["metadata"]["uid"]
        sel = (d.get("spec") or {}).get("selector")
        out = []
        for rs in self.rs_inf.items():
            if rs["metadata"]["namespace"] != ns:
                continue
            ref = controller_ref(rs)
            matches = selector_matches(sel, rs["metadata"].get("labels"))
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    out.append(rs)
                else:
                    await self._patch_refs(rs, [r for r in rs["metadata"]["ownerReferences"] if r.get("uid") != uid])
            elif ref is None and matches and not d["metadata"].get("deletionTimestamp") \
                    and not rs["metadata"].get("deletionTimestamp"):
                adopted = await self._patch_refs(rs, list(rs["metadata"].get("ownerReferences") or []) + [owner_ref(d)])
                if adopted is not None:
                    out.append(adopted)
        return sorted(out, key=by_age)

    async def _patch_refs(self, rs: dict, refs: list[dict]) -> dict | None:
        try:
            return await self.client.patch("replicasets", rs["metadata"]["name"],
                                           {"metadata": {"ownerReferences": refs}},
                                           namespace=rs["metadata"]["namespace"])
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def find_new(self, d: dict, rs_list: list[dict]) -> dict | None:
        tmpl = (d.get("spec") or {}).get("template")
        same = [rs for rs in rs_list if templates_equal((rs.get("spec") or {}).get("template"), tmpl)]
        return same[0] if same else None      # rs_list is oldest first

    def rs_annotations(self, d: dict, rs: dict, rev: int, set_replicas: bool = True) -> dict:
        ann = dict(rs["metadata"].get("annotations") or {})
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k not in SKIP_ANNOTATIONS:
                ann[k] = v
        ann[REVISION] = str(rev)
        if set_replicas:
            surge, _ = surge_and_unavailable(d)
            ann[DESIRED] = str(replicas_of(d))
            ann[MAX_REPLICAS] = str(replicas_of(d) + surge)
        return ann

    async def get_all_rs(self, d: dict, rs_list: list[dict], create: bool):
        """(new RS or None, old RSs, whether new was created); syncs revision annotations."""
        new = self.find_new(d, rs_list)
        old = [rs for rs in rs_list if rs is not new]
        max_old = max((revision(rs) for rs in old), default=0)
        created = False
        if new is not None:
            rev = revision(new) if revision(new) > max_old else max_old + 1
            ann = self.rs_annotations(d, new, rev, set_replicas=False)
            min_ready = (d.get("spec") or {}).get("minReadySeconds", 0)
            if ann != (new["metadata"].get("annotations") or {}) or \
                    (new.get("spec") or {}).get("minReadySeconds", 0) != min_ready:
                new = await self.client.patch("replicasets", new["metadata"]["name"],
                                              {"metadata": {"annotations": ann}, "spec": {"minReadySeconds": min_ready}},
                                              namespace=new["metadata"]["namespace"])
        elif create:
            new = await self.create_new_rs(d, old, max_old + 1)
            created = new is not None
        if new is not None:
            await self.set_deployment_revision(d, revision(new), new)
        return new, old, created

    async def create_new_rs(self, d: dict, old: list[dict], rev: int) -> dict | None:
        ns = d["metadata"]["namespace"]
        spec = d.get("spec") or {}
        h = template_hash(spec.get("template"), (d.get("status") or {}).get("collisionCount"))
        tmpl = copy.deepcopy(spec.get("template") or {})
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        sel = copy.deepcopy(spec.get("selector") or {})
        sel.setdefault("matchLabels", {})[HASH_LABEL] = h
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{d['metadata']['name']}-{h}", "namespace": ns,
                           "labels": dict(tmpl["metadata"]["labels"]), "ownerReferences": [owner_ref(d)]},
              "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": sel,
                       "template": tmpl}}
        rs["metadata"]["annotations"] = self.rs_annotations(d, rs, rev)
        rs["spec"]["replicas"] = self.new_rs_replicas(d, old, None)
        try:
            new = await self.client.create("replicasets", rs, namespace=ns)
        except ApiError as e:
            if e.code != 409:
                raise
            existing = await self.client.get("replicasets", rs["metadata"]["name"], namespace=ns)
            ref = controller_ref(existing)
            if ref and ref.get("uid") == d["metadata"]["uid"] and templates_equal(
                    existing["spec"].get("template"), spec.get("template")):
                return existing
            st = copy.deepcopy(d.get("status") or {})     # hash collision: try the next name
            st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
            await self.client.replace("deployments", d["metadata"]["name"], {**d, "status": st},
                                      namespace=ns, subresource="status")
            raise
        if rs_replicas(new) > 0:
            await self.recorder.normal(d, "ScalingReplicaSet",
                                       f"Scaled up replica set {new['metadata']['name']} to {rs_replicas(new)} from 0")
        return new

    async def set_deployment_revision(self, d: dict, rev: int, new: dict) -> None:
        ann = d["metadata"].get("annotations") or {}
        if ann.get(REVISION) == str(rev):
            return
        out = await self.client.patch("deployments", d["metadata"]["name"],
                                      {"metadata": {"annotations": {REVISION: str(rev)}}},
                                      namespace=d["metadata"]["namespace"])
        d["metadata"] = out["metadata"]

    # -- sync --------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deploys.get(key)
        if cached is None:
            return
        d = exact_copy(cached)
        spec = d.get("spec") or {}
        if not (spec.get("selector") or {}).get("matchLabels") and not (spec.get("selector") or {}).get("matchExpressions"):
            return          # an empty selector would select everything: refuse, like Kubernetes
        rs_list = await self.claim_replicasets(d)
        if d["metadata"].get("deletionTimestamp"):
            new = self.find_new(d, rs_list)
            await self.sync_status(d, rs_list, new)
            return
        created = False
        if spec.get("paused") or self.is_scaling_event(d, rs_list):
            new, old, _ = await self.get_all_rs(d, rs_list, create=False)
            await self.scale(d, new, old)
            all_rs = ([new] if new else []) + old
        elif (spec.get("strategy") or {}).get("type") == "Recreate":
            new, all_rs, created = await self.rollout_recreate(d, rs_list)
        else:
            new, all_rs, created = await self.rollout_rolling(d, rs_list)
        await self.sync_status(d, all_rs, new, created)

    def is_scaling_event(self, d: dict, rs_list: list[dict]) -> bool:
        want = str(replicas_of(d))
        for rs in rs_list:
            if rs_replicas(rs) > 0:
                desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
                if desired is not None and desired != want:
                    return True
        return False

    async def sync_status(self, d: dict, all_rs: list[dict], new: dict | None, created: bool = False) -> None:
        status, recheck = compute_status(d, all_rs, new, self.clock.now(), self.clock.now_str(), created)
        key = f"{d['metadata']['namespace']}/{d['metadata']['name']}"
        if is_complete(d, status) and not (d.get("spec") or {}).get("paused"):
            await self.cleanup(d, [rs for rs in all_rs if rs is not new])
        if recheck is not None:
            self.queue.add_after(key, recheck)
        if status == (d.get("status") or {}):
            return
        body = exact_copy(d)
        body["status"] = status
        await self.client.replace("deployments", d["metadata"]["name"], body,
                                  namespace=d["metadata"]["namespace"], subresource="status")

    async def cleanup(self, d: dict, old: list[dict]) -> None:
        limit = (d.get("spec") or {}).get("revisionHistoryLimit", 10)
        if limit is None:
            return
        idle = [rs for rs in old if rs_replicas(rs) == 0 and not (rs.get("status") or {}).get("replicas")
                and not rs["metadata"].get("deletionTimestamp")]
        idle.sort(key=lambda rs: (revision(rs), by_age(rs)))
        for rs in idle[:max(0, len(idle) - int(limit))]:
            try:
                await self.client.delete("replicasets", rs["metadata"]["name"], namespace=rs["metadata"]["namespace"])
            except ApiError as e:
                if e.code != 404:
                    raise
