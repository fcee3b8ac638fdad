"""ResourceQuota and Disruption (PodDisruptionBudget) controllers on the FakeApi."""
from __future__ import annotations

import pytest

from labkube.controllers.disruption import DisruptionController
from labkube.controllers.resourcequota import ResourceQuotaController, format_amount

from .harness import Harness


def pod(name, cpu=None, mem=None, ready=True, labels=None, phase="Running"):
    req = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    return {"metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": req, "limits": req}}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize("name,n,want", [("cpu", 1500, "1500m"), ("cpu", 2000, "2"), ("memory", 3 * 2 ** 20, "3Mi"),
                                         ("memory", 2 ** 30, "1Gi"), ("memory", 1000, "1000")])
def test_format_amount(name, n, want):
    assert format_amount(name, n) == want


async def test_quota_used_follows_creates_and_deletes():
    h = Harness(ResourceQuotaController)
    await h.api.create("resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": {
        "pods": "10", "requests.cpu": "4", "limits.memory": "1Gi", "count/configmaps": "5", "count/widgets.x": "1"}}})
    await h.api.create("pods", pod("a", "500m", "128Mi"))
    await h.api.create("pods", pod("b", "1", "128Mi"))
    await h.api.create("pods", pod("done", "1", "1Mi", phase="Succeeded"))
    await h.api.create("configmaps", {"metadata": {"name": "c"}})
    await h.start()
    await h.run()
    q = await h.api.get("resourcequotas", "q", "default")
    assert q["status"]["used"] == {"pods": "2", "requests.cpu": "1500m", "limits.memory": "256Mi", "count/configmaps": "1"}
    await h.api.delete("pods", "b", "default")
    await h.run()
    q = await h.api.get("resourcequotas", "q", "default")
    assert q["status"]["used"]["pods"] == "1" and q["status"]["used"]["requests.cpu"] == "500m"


@pytest.mark.parametrize("spec,want", [
    ({"minAvailable": 2}, (3, 2, 2, 0)),
    ({"minAvailable": "50%"}, (3, 2, 2, 0)),
    ({"maxUnavailable": 1}, (3, 2, 2, 0)),
    ({"minAvailable": 1}, (3, 2, 1, 1)),
    ({"maxUnavailable": "34%"}, (3, 2, 1, 1)),
])
async def test_pdb_status(spec, want):
    h = Harness(DisruptionController)
    for n, ready in (("a", True), ("b", True), ("c", False)):
        await h.api.create("pods", pod(n, ready=ready))
    await h.api.create("pods", pod("other", labels={"app": "db"}))
    await h.api.create("poddisruptionbudgets", {"metadata": {"name": "p"},
                                                "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}})
    await h.start()
    await h.run()
    st = (await h.api.get("poddisruptionbudgets", "p", "default"))["status"]
    assert (st["expectedPods"], st["currentHealthy"], st["desiredHealthy"], st["disruptionsAllowed"]) == want
    assert st["conditions"][0]["status"] == ("True" if want[3] else "False")
