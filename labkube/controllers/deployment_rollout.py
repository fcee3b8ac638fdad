"""Deployment rollouts: RollingUpdate (maxSurge/maxUnavailable) and Recreate, plus scaling
(proportional across ReplicaSets during a rollout). Mixed into DeploymentController."""
from __future__ import annotations

from labkube.client.errors import ApiError

from .deployment_util import DESIRED, MAX_REPLICAS, replicas_of, rs_replicas, status_int, surge_and_unavailable
from .util import controller_ref, is_terminal


class RolloutMixin:

    def new_rs_replicas(self, d: dict, old: list[dict], new: dict | None) -> int:
        want = replicas_of(d)
        if ((d.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate":
            return want
        surge, _ = surge_and_unavailable(d)
        cur = sum(rs_replicas(rs) for rs in old) + (rs_replicas(new) if new else 0)
        have = rs_replicas(new) if new else 0
        if cur >= want + surge:
            return have
        return have + max(0, min(want + surge - cur, want - have))

    async def scale_rs(self, d: dict, rs: dict, size: int) -> dict:
        surge, _ = surge_and_unavailable(d)
        ann = dict(rs["metadata"].get("annotations") or {})
        want_ann = {DESIRED: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + surge)}
        if rs_replicas(rs) == size and all(ann.get(k) == v for k, v in want_ann.items()):
            return rs
        # a merge patch of the fields this controller owns: no conflict with the ReplicaSet
        # controller's frequent status writes
        out = await self.client.patch("replicasets", rs["metadata"]["name"],
                                      {"metadata": {"annotations": want_ann}, "spec": {"replicas": size}},
                                      namespace=rs["metadata"]["namespace"])
        old = rs_replicas(rs)
        if old != size:
            verb = "up" if size > old else "down"
            await self.recorder.normal(d, "ScalingReplicaSet",
                                       f"Scaled {verb} replica set {rs['metadata']['name']} to {size} from {old}")
        return out

    async def rollout_rolling(self, d: dict, rs_list: list[dict]):
        new, old, created = await self.get_all_rs(d, rs_list, create=True)
        want = replicas_of(d)
        if new is not None and rs_replicas(new) != want:
            size = want if rs_replicas(new) > want else self.new_rs_replicas(d, old, new)
            if size != rs_replicas(new):
                new = await self.scale_rs(d, new, size)
                return new, [new] + old, created
        old = await self.reconcile_old(d, new, old)
        return new, ([new] if new else []) + old, created

    async def reconcile_old(self, d: dict, new: dict | None, old: list[dict]) -> list[dict]:
        if not sum(rs_replicas(rs) for rs in old):
            return old
        all_rs = ([new] if new else []) + old
        _, max_unavail = surge_and_unavailable(d)
        min_available = replicas_of(d) - max_unavail
        new_unavail = (rs_replicas(new) - status_int(new, "availableReplicas")) if new else 0
        budget = sum(rs_replicas(rs) for rs in all_rs) - min_available - new_unavail
        if budget <= 0:
            return old
        old = list(old)
        # first drop old pods that are not available anyway
        cleaned = 0
        for i, rs in enumerate(old):
            if cleaned >= budget:
                break
            unhealthy = rs_replicas(rs) - status_int(rs, "availableReplicas")
            if rs_replicas(rs) == 0 or unhealthy <= 0:
                continue
            n = min(budget - cleaned, unhealthy)
            old[i] = await self.scale_rs(d, rs, rs_replicas(rs) - n)
            cleaned += n
        # then scale down available old pods while keeping minAvailable
        available = sum(status_int(rs, "availableReplicas") for rs in ([new] if new else []) + old)
        total = available - min_available
        done = 0
        for i, rs in enumerate(old):
            if done >= total:
                break
            if rs_replicas(rs) == 0:
                continue
            n = min(rs_replicas(rs), total - done)
            old[i] = await self.scale_rs(d, rs, rs_replicas(rs) - n)
            done += n
        return old

    def old_pods_running(self, old: list[dict]) -> bool:
        uids = {rs["metadata"]["uid"] for rs in old}
        for p in self.pods.items():
            ref = controller_ref(p)
            if ref and ref.get("uid") in uids and not is_terminal(p):
                return True
        return any(status_int(rs, "replicas") for rs in old)

    async def rollout_recreate(self, d: dict, rs_list: list[dict]):
        new, old, _ = await self.get_all_rs(d, rs_list, create=False)
        scaled = False
        for i, rs in enumerate(old):
            if rs_replicas(rs) > 0:
                old[i] = await self.scale_rs(d, rs, 0)
                scaled = True
        all_rs = ([new] if new else []) + old
        if scaled or self.old_pods_running(old):
            return new, all_rs, False
        created = False
        if new is None:
            new, old, created = await self.get_all_rs(d, rs_list, create=True)
        if new is not None and rs_replicas(new) != replicas_of(d):
            new = await self.scale_rs(d, new, replicas_of(d))
        return new, ([new] if new else []) + old, created

    async def scale(self, d: dict, new: dict | None, old: list[dict]) -> None:
        """Scaling only (paused, or spec.replicas changed): spread the change over active RSs."""
        want = replicas_of(d)
        active = [rs for rs in ([new] if new else []) + old if rs_replicas(rs) > 0]
        if len(active) <= 1:
            target = active[0] if active else (new or (old[-1] if old else None))
            if target is not None:
                await self.scale_rs(d, target, want)
            return
        surge, _ = surge_and_unavailable(d)
        allowed = want + (surge if ((d.get("spec") or {}).get("strategy") or {}).get("type") != "Recreate" else 0)
        current = sum(rs_replicas(rs) for rs in active)
        to_add = allowed - current
        order = sorted(active, key=lambda rs: (-rs_replicas(rs), rs["metadata"].get("creationTimestamp") or ""),
                       reverse=to_add < 0)
        sizes = {rs["metadata"]["name"]: rs_replicas(rs) for rs in active}
        added = 0
        for rs in order:
            share = int(rs_replicas(rs) * to_add / current) if current else 0
            sizes[rs["metadata"]["name"]] = max(0, rs_replicas(rs) + share)
            added += share
        first = order[0]["metadata"]["name"]
        sizes[first] = max(0, sizes[first] + (to_add - added))
        for rs in active:
            try:
                await self.scale_rs(d, rs, sizes[rs["metadata"]["name"]])
            except ApiError as e:
                if e.code != 404:
                    raise
