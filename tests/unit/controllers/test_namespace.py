"""Namespace controller on the FakeApi: a terminating namespace is emptied, then finalized."""
from __future__ import annotations

from labkube.client.errors import ApiError
from labkube.controllers.namespace import NamespaceController

import pytest

from .harness import Harness


async def test_namespace_is_emptied_then_removed():
    h = Harness(NamespaceController)
    await h.api.create("namespaces", {"metadata": {"name": "t"}})
    await h.api.create("configmaps", {"metadata": {"name": "c"}}, namespace="t")
    await h.api.create("pods", {"metadata": {"name": "p"}, "spec": {"nodeName": "w1"}}, namespace="t")
    await h.api.create("pods", {"metadata": {"name": "keep"}, "spec": {}}, namespace="default")
    await h.start()
    await h.api.delete("namespaces", "t")
    await h.run()
    # the bound pod is terminating; the namespace must wait for it
    ns = await h.api.get("namespaces", "t")
    assert ns["status"]["phase"] == "Terminating"
    (c,) = ns["status"]["conditions"]
    assert (c["type"], c["message"]) == ("NamespaceContentRemaining",
                                         "Some resources are remaining: pods has 1 resource instances")
    assert h.api.all("configmaps", "t") == []
    await h.api.delete("pods", "p", "t", grace_period_seconds=0)
    h.clock.advance(2)
    await h.run()
    with pytest.raises(ApiError):
        await h.api.get("namespaces", "t")
    assert [p["metadata"]["name"] for p in h.api.all("pods")] == ["keep"]


async def test_active_namespace_is_left_alone():
    h = Harness(NamespaceController)
    await h.api.create("namespaces", {"metadata": {"name": "t"}})
    await h.api.create("configmaps", {"metadata": {"name": "c"}}, namespace="t")
    await h.start()
    await h.controllers[0].sync("t")
    assert len(h.api.all("configmaps", "t")) == 1
