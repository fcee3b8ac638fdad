"""Disruption controller: status of PodDisruptionBudgets (what `kubectl get pdb` shows).

expectedPods = pods matching the selector (not terminal, not being deleted), currentHealthy
= the Ready ones, desiredHealthy from minAvailable (a percentage rounds up) or expectedPods
minus maxUnavailable (rounds up), disruptionsAllowed = currentHealthy - desiredHealthy (>= 0),
plus the DisruptionAllowed condition.
"""
from __future__ import annotations

import copy
import math

from labkube.client.selectors import selector_matches

from .base import Controller
from .util import is_active, is_ready, set_condition


def scaled(value, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return int(math.ceil(float(value[:-1]) * total / 100))
    return int(value)


class DisruptionController(Controller):
    name = "disruption"

    def setup(self) -> None:
        self.pdbs = self.informer("poddisruptionbudgets")
        self.pods = self.informer("pods")
        self.pdbs.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        self.pods.add_handlers(*(lambda *a: self._pod(a[-1]),) * 3)

    def _pod(self, pod: dict) -> None:
        ns = pod["metadata"].get("namespace")
        for pdb in self.pdbs.items():
            if pdb["metadata"].get("namespace") == ns:
                self.enqueue(pdb)

    async def sync(self, key: str) -> None:
        pdb = self.pdbs.get(key)
        if pdb is None:
            return
        spec, ns = pdb.get("spec") or {}, pdb["metadata"]["namespace"]
        pods = [p for p in self.pods.items() if p["metadata"].get("namespace") == ns and is_active(p)
                and selector_matches(spec.get("selector"), p["metadata"].get("labels"))]
        expected = len(pods)
        healthy = sum(1 for p in pods if is_ready(p))
        if spec.get("minAvailable") is not None:
            desired = scaled(spec["minAvailable"], expected)
        elif spec.get("maxUnavailable") is not None:
            desired = max(0, expected - scaled(spec["maxUnavailable"], expected))
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        status = copy.deepcopy(pdb.get("status") or {})
        status.update({"observedGeneration": pdb["metadata"].get("generation", 1), "expectedPods": expected,
                       "currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed})
        now = self.clock.now_str()
        if allowed > 0:
            set_condition(status, "DisruptionAllowed", "True", "SufficientPods", "", now, update_time=False)
        else:
            set_condition(status, "DisruptionAllowed", "False", "InsufficientPods", "", now, update_time=False)
        for c in status["conditions"]:
            c.pop("lastUpdateTime", None)
        if status == (pdb.get("status") or {}):
            return
        body = copy.deepcopy(pdb)
        body["status"] = status
        await self.client.replace("poddisruptionbudgets", pdb["metadata"]["name"], body, namespace=ns,
                                  subresource="status")
