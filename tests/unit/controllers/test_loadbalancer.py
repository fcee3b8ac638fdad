"""LoadBalancer controller: the pool syntax, the allocator, and Services getting, keeping and
giving back pool addresses on the FakeApi."""
from __future__ import annotations

import pytest

from labkube.controllers.loadbalancer import Allocator, LoadBalancerController, PoolError, parse_pool

from .harness import Harness

POOL = "10.200.0.200-10.200.0.202"


@pytest.mark.parametrize("text, want", [
    ("10.200.0.200-10.200.0.202", ["10.200.0.200", "10.200.0.201", "10.200.0.202"]),
    ("10.200.0.200 - 10.200.0.200", ["10.200.0.200"]),
    ("10.200.0.8/30", ["10.200.0.9", "10.200.0.10"]),
    ("10.200.0.5, 10.200.0.3-10.200.0.5", ["10.200.0.5", "10.200.0.3", "10.200.0.4"]),
])
def test_pool_syntax(text, want):
    assert parse_pool(text) == want


@pytest.mark.parametrize("text, message", [
    ("", "expected ranges"),
    (12, "expected ranges"),
    ("10.200.0.9-10.200.0.1", "ends before it starts"),
    ("10.200.0.300", "'10.200.0.300' is not an IPv4 range"),
    ("fd00::1-fd00::5", "is not an IPv4 range"),
    ("10.0.0.0/8", "larger than 65536"),
])
def test_pool_errors(text, message):
    with pytest.raises(PoolError, match=message):
        parse_pool(text)


def test_allocator_lowest_free_first_and_release():
    a = Allocator(parse_pool(POOL))
    assert [a.assign(k) for k in ("ns/a", "ns/b")] == ["10.200.0.200", "10.200.0.201"]
    assert a.assign("ns/a") == "10.200.0.200"                     # holding it: the same again
    assert a.release("ns/a") == "10.200.0.200" and a.release("ns/a") is None
    assert a.assign("ns/c") == "10.200.0.200"
    assert a.assign("ns/d") == "10.200.0.202"
    assert a.assign("ns/e") is None and a.free == 0


def test_allocator_requested_and_observed_addresses():
    a = Allocator(parse_pool(POOL))
    assert a.assign("ns/a", "10.200.0.202") == "10.200.0.202"
    assert a.assign("ns/b", "10.200.0.202") is None               # taken
    assert a.assign("ns/b", "10.200.0.99") is None                # outside the pool
    assert a.assign("ns/a", "10.200.0.201") == "10.200.0.201"     # moves: the old one is free again
    assert a.holder("10.200.0.202") is None
    assert a.observe("ns/c", "10.200.0.200") and a.holder("10.200.0.200") == "ns/c"
    assert not a.observe("ns/d", "10.200.0.200")                  # someone else's
    assert not a.observe("ns/d", "192.168.1.1")                   # not ours to give


def lb(name, **spec):
    return {"metadata": {"name": name}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec}}


async def ingress(h, name):
    svc = await h.api.get("services", name, "default")
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


async def test_services_get_keep_and_give_back_addresses():
    h = Harness(LoadBalancerController, settings={"loadbalancer_pool": POOL})
    await h.api.create("services", lb("a"))
    await h.api.create("services", lb("b", loadBalancerIP="10.200.0.202"))
    await h.api.create("services", {"metadata": {"name": "plain"}, "spec": {"ports": [{"port": 80}]}})
    await h.api.create("services", lb("other", loadBalancerClass="example.com/elsewhere"))
    await h.start()
    await h.run()
    assert await ingress(h, "a") == ["10.200.0.200"]
    assert await ingress(h, "b") == ["10.200.0.202"]
    assert await ingress(h, "plain") == [] and await ingress(h, "other") == []
    assert len(h.events("IPAllocated")) == 2

    await h.api.create("services", lb("c"))
    await h.api.create("services", lb("d"))
    await h.run()
    assert await ingress(h, "c") == ["10.200.0.201"] and await ingress(h, "d") == []
    assert "no free address in the pool" in h.events("AllocationFailed")[0]["message"]

    await h.api.patch("services", "a", {"spec": {"type": "ClusterIP"}}, "default")       # type change
    await h.run()
    assert await ingress(h, "a") == [] and await ingress(h, "d") == ["10.200.0.200"]
    await h.api.delete("services", "b", "default")                                      # deletion
    await h.api.create("services", lb("e"))
    await h.run()
    assert await ingress(h, "e") == ["10.200.0.202"]


async def test_a_restarted_controller_keeps_the_addresses_given():
    h = Harness(LoadBalancerController, settings={"loadbalancer_pool": POOL})
    await h.api.create("services", lb("old"))
    await h.api.patch("services", "old", {"status": {"loadBalancer": {"ingress": [{"ip": "10.200.0.201"}]}}},
                      "default", subresource="status")
    await h.api.create("services", lb("new"))
    await h.start()
    await h.run()
    assert await ingress(h, "old") == ["10.200.0.201"]
    assert await ingress(h, "new") == ["10.200.0.200"]


async def test_without_a_pool_services_stay_pending():
    h = Harness(LoadBalancerController)
    await h.api.create("services", lb("a"))
    await h.start()
    await h.run()
    assert await ingress(h, "a") == [] and h.events() == []


def test_the_pool_setting_of_the_controller_manager():
    from labkube.client.component import ConfigError
    from labkube.controllers.manager import ManagerConfig
    cfg = ManagerConfig.from_dict("c.yaml", {"kubeconfig": "k", "controllers": ["loadbalancer"],
                                             "loadbalancer_pool": POOL})
    assert cfg.settings["loadbalancer_pool"] == POOL
    with pytest.raises(ConfigError, match=r"^c.yaml: loadbalancer_pool: range .* ends before it starts$"):
        ManagerConfig.from_dict("c.yaml", {"kubeconfig": "k", "loadbalancer_pool": "10.200.0.9-10.200.0.1"})
