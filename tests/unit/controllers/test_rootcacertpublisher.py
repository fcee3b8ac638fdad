"""Root CA publisher on the FakeApi: kube-root-ca.crt in every namespace, put back when changed or deleted."""
from __future__ import annotations

from labkube.controllers.rootcacertpublisher import NAME, RootCACertPublisher

from .harness import Harness

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def published(h):
    return {cm["metadata"]["namespace"]: cm["data"] for cm in h.api.all("configmaps") if cm["metadata"]["name"] == NAME}


async def test_every_namespace_gets_the_ca_and_keeps_it():
    h = Harness(RootCACertPublisher, settings={"root_ca_data": CA.encode()})
    await h.start()
    await h.run()
    assert published(h) == {ns: {"ca.crt": CA} for ns in ("default", "kube-node-lease", "kube-public", "kube-system")}

    await h.api.create("namespaces", {"metadata": {"name": "team"}})
    cm = await h.api.get("configmaps", NAME, "default")
    cm["data"] = {"ca.crt": "tampered"}
    await h.api.replace("configmaps", NAME, cm, "default")
    await h.api.delete("configmaps", NAME, "kube-public")
    await h.run()
    assert published(h) == {ns: {"ca.crt": CA} for ns in ("default", "kube-node-lease", "kube-public", "kube-system", "team")}


async def test_other_configmaps_and_terminating_namespaces_are_left_alone():
    h = Harness(RootCACertPublisher, settings={"root_ca_data": CA})
    await h.api.create("configmaps", {"metadata": {"name": "app", "namespace": "default"}, "data": {"a": "1"}})
    await h.start()
    await h.run()
    await h.api.delete("namespaces", "default")          # terminating: nothing created in it
    await h.api.delete("configmaps", NAME, "default")
    await h.run()
    assert "default" not in published(h)
    assert (await h.api.get("configmaps", "app", "default"))["data"] == {"a": "1"}
