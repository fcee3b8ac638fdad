"""The Endpoints and EndpointSlice controllers' pod update handler (servicepods.py) queues the same
keys, in the same order, as the earlier form that looked up the Services of the old and then of the
new pod on every update."""
from __future__ import annotations

import copy

import pytest

from labkube.client.workqueue import WorkQueue
from labkube.controllers.endpoints import EndpointsController
from labkube.controllers.endpointslice import EndpointSliceController
from labkube.controllers.servicepods import selects

from .harness import Harness

SERVICES = [("web", "default", {"app": "web"}), ("web-fe", "default", {"app": "web", "tier": "fe"}),
            ("db", "default", {"app": "db"}), ("web", "other", {"app": "web"}), ("none", "default", None),
            ("all", "default", {})]


def pod(labels, ns="default", phase="Running", ready=True, ip="10.0.0.5"):
    return {"metadata": {"name": "p", "namespace": ns, "uid": "u", **({"labels": labels} if labels is not None else {})},
            "spec": {"nodeName": "w1", "containers": [{"name": "c"}]},
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def earlier_update(ctrl, old, new):
    for p in (old, new):
        for svc in ctrl.services.items():
            if selects(svc, p):
                ctrl.enqueue(svc)


WEB = {"app": "web"}
ROWS = [
    ("status only", pod(WEB), pod(WEB, ready=False)),
    ("ip", pod(WEB), pod(WEB, ip="10.0.0.9")),
    ("labels leave", pod(WEB), pod({"app": "db"})),
    ("labels join", pod({"app": "db"}), pod({"app": "web", "tier": "fe"})),
    ("label added", pod(WEB), pod({"app": "web", "tier": "fe"})),
    ("labels none to empty", pod(None), pod({})),
    ("labels none", pod(None), pod(None, phase="Succeeded")),
    ("other namespace", pod(WEB, ns="other"), pod(WEB, ns="other", ready=False)),
    ("namespace differs", pod(WEB), pod(WEB, ns="other")),
    ("nothing selects", pod({"x": "1"}), pod({"x": "1"}, ready=False)),
]


@pytest.mark.parametrize("cls", [EndpointsController, EndpointSliceController])
@pytest.mark.parametrize("queued", [[], ["default/db", "default/web"]])
@pytest.mark.parametrize("name,old,new", ROWS, ids=[r[0] for r in ROWS])
async def test_update_queues_as_before(cls, queued, name, old, new):
    h = Harness(cls)
    await h.api.create("namespaces", {"metadata": {"name": "other"}})
    for svc_name, ns, sel in SERVICES:
        spec = {"ports": [{"port": 80}]}
        if sel is not None:
            spec["selector"] = sel
        await h.api.create("services", {"metadata": {"name": svc_name, "namespace": ns}, "spec": spec}, ns)
    await h.start()
    ctrl = h.controllers[0]
    got = []
    for update in (ctrl._pod_updated, lambda o, n: earlier_update(ctrl, o, n)):
        ctrl.queue = WorkQueue(h.clock)
        for k in queued:
            ctrl.queue.add(k)
        update(copy.deepcopy(old), copy.deepcopy(new))
        got.append((list(ctrl.queue._queue), set(ctrl.queue._dirty)))
    assert got[0] == got[1]
