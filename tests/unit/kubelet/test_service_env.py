"""The Service variables containers get (serviceenv.py, as the kubelet's getServiceEnvVarMap):
default/kubernetes always, the pod's namespace's Services unless enableServiceLinks is false;
envFrom and env override them."""
import pytest

from labkube.kubelet.containers import environment
from labkube.kubelet.serviceenv import pod_service_env, service_env

from .conftest import eventually, pod


def svc(name, ns="default", ip="10.96.0.10", ports=({"name": "http", "port": 80, "protocol": "TCP"},)):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": list(ports)}}


MASTER = svc("kubernetes", ip="10.96.0.1", ports=[{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}])
MASTER_ENV = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"}


@pytest.mark.parametrize("case, service, want", [
    ("the master service", MASTER, MASTER_ENV),
    ("headless: none", svc("db", ip="None"), {}),
    ("ExternalName (no cluster IP): none", {"metadata": {"name": "ext"}, "spec": {"externalName": "x.org"}}, {}),
    ("dashes become underscores; unnamed first port, named UDP second", svc("my-db", ip="10.96.3.4", ports=[
        {"port": 5432}, {"name": "dns-udp", "port": 53, "protocol": "UDP"}]), {
        "MY_DB_SERVICE_HOST": "10.96.3.4", "MY_DB_SERVICE_PORT": "5432", "MY_DB_SERVICE_PORT_DNS_UDP": "53",
        "MY_DB_PORT": "tcp://10.96.3.4:5432",
        "MY_DB_PORT_5432_TCP": "tcp://10.96.3.4:5432", "MY_DB_PORT_5432_TCP_PROTO": "tcp",
        "MY_DB_PORT_5432_TCP_PORT": "5432", "MY_DB_PORT_5432_TCP_ADDR": "10.96.3.4",
        "MY_DB_PORT_53_UDP": "udp://10.96.3.4:53", "MY_DB_PORT_53_UDP_PROTO": "udp",
        "MY_DB_PORT_53_UDP_PORT": "53", "MY_DB_PORT_53_UDP_ADDR": "10.96.3.4"}),
    ("IPv6 cluster IP in brackets", svc("v6", ip="fd00::a", ports=[{"port": 80}]), {
        "V6_SERVICE_HOST": "fd00::a", "V6_SERVICE_PORT": "80", "V6_PORT": "tcp://[fd00::a]:80",
        "V6_PORT_80_TCP": "tcp://[fd00::a]:80", "V6_PORT_80_TCP_PROTO": "tcp", "V6_PORT_80_TCP_PORT": "80",
        "V6_PORT_80_TCP_ADDR": "fd00::a"}),
])
def test_service_variables(case, service, want):
    assert service_env(service) == want, case


WEB = svc("web", ns="shop", ip="10.96.5.5")
OTHER_NS = svc("db", ns="other", ip="10.96.6.6")
DEFAULT_NS = svc("cache", ns="default", ip="10.96.7.7")
SHOP_KUBERNETES = svc("kubernetes", ns="shop", ip="10.96.8.8")


@pytest.mark.parametrize("case, ns, links, services, hosts", [
    ("master and the pod's namespace", "shop", None, [MASTER, WEB, OTHER_NS, DEFAULT_NS],
     {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "WEB_SERVICE_HOST": "10.96.5.5"}),
    ("enableServiceLinks false: the master only", "shop", False, [MASTER, WEB, DEFAULT_NS],
     {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}),
    ("explicit true", "shop", True, [WEB, MASTER], {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "WEB_SERVICE_HOST": "10.96.5.5"}),
    ("a pod in default sees default's Services", "default", None, [MASTER, DEFAULT_NS, WEB],
     {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "CACHE_SERVICE_HOST": "10.96.7.7"}),
    ("default with links off: still the master", "default", False, [MASTER, DEFAULT_NS],
     {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}),
    ("the namespace's own `kubernetes` wins, either order", "shop", None, [MASTER, SHOP_KUBERNETES],
     {"KUBERNETES_SERVICE_HOST": "10.96.8.8"}),
    ("... reversed", "shop", None, [SHOP_KUBERNETES, MASTER], {"KUBERNETES_SERVICE_HOST": "10.96.8.8"}),
    ("no master Service yet", "shop", None, [WEB], {"WEB_SERVICE_HOST": "10.96.5.5"}),
])
def test_which_services_a_pod_sees(case, ns, links, services, hosts):
    p = {"metadata": {"name": "p", "namespace": ns}, "spec": {}}
    if links is not None:
        p["spec"]["enableServiceLinks"] = links
    env = pod_service_env(p, services)
    assert {k: v for k, v in env.items() if k.endswith("_SERVICE_HOST")} == hosts, case


def test_container_env_overrides_service_variables():
    p = {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}
    c = {"name": "c", "env": [{"name": "KUBERNETES_SERVICE_PORT", "value": "8443"},
                              {"name": "URL", "value": "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"}]}
    env = dict(e.split("=", 1) for e in environment(p, c, {"Env": ["PATH=/bin"]}, "10.200.0.2", "10.244.1.2",
                                                    services=service_env(MASTER)))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "8443"
    assert env["URL"] == "https://10.96.0.1:8443" and env["PATH"] == "/bin"


async def test_kubelet_gives_a_container_the_services_of_its_namespace(kubelet):
    api = kubelet.client
    await api.create("namespaces", {"metadata": {"name": "other"}})
    for s in (MASTER, svc("web", ip="10.96.5.5"), svc("db", ns="other", ip="10.96.6.6")):
        await api.create("services", s, namespace=s["metadata"]["namespace"])
    await eventually(lambda: len(kubelet.services.items()) == 3)
    await api.create("pods", pod("linked"), namespace="default")
    await api.create("pods", pod("unlinked", enableServiceLinks=False), namespace="default")

    def env_of(name):
        uid = (api.objects.get(("pods", "default", name)) or {}).get("metadata", {}).get("uid")
        return next((set(c.env) for c in kubelet.runtime.configs.values() if c.pod_uid == uid), None)
    linked, unlinked = await eventually(lambda: env_of("linked")), await eventually(lambda: env_of("unlinked"))
    assert {"KUBERNETES_SERVICE_HOST=10.96.0.1", "WEB_SERVICE_HOST=10.96.5.5", "WEB_PORT=tcp://10.96.5.5:80"} <= linked
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in unlinked
    assert not any(e.startswith(("WEB_", "DB_")) for e in unlinked) and not any(e.startswith("DB_") for e in linked)
