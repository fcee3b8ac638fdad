"""Which Ingresses are ours, the status addresses, and the `ingress` settings of proxy.yaml."""
from __future__ import annotations

import pytest

from labkube.client.component import ConfigError
from labkube.ingress.classes import CONTROLLER, is_ours, lab_ingress_class, our_classes
from labkube.ingress.config import IngressConfig
from labkube.ingress.status import load_balancer_status, needs_update, serving_addresses

OTHER = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}
NOT_DEFAULT = {"metadata": {"name": "labkube"}, "spec": {"controller": CONTROLLER}}


def ing(class_name=None, legacy=None):
    md = {"name": "i", "namespace": "default"}
    if legacy:
        md["annotations"] = {"kubernetes.io/ingress.class": legacy}
    return {"metadata": md, "spec": {"ingressClassName": class_name} if class_name else {}}


@pytest.mark.parametrize("ingress, classes, ours", [
    (ing("labkube"), [lab_ingress_class(), OTHER], True),
    (ing("nginx"), [lab_ingress_class(), OTHER], False),
    (ing("missing"), [lab_ingress_class()], False),
    (ing(), [lab_ingress_class(), OTHER], True),            # no class: the default class is ours
    (ing(), [NOT_DEFAULT, OTHER], False),                   # no class and no default of ours
    (ing(legacy="nginx"), [lab_ingress_class(), OTHER], False),
    (ing(legacy="labkube"), [NOT_DEFAULT], True),
    (ing("labkube"), [], False),                            # the class was deleted
])
def test_is_ours(ingress, classes, ours):
    assert is_ours(ingress, our_classes(classes)) is ours


def node(name, ip, ready="True"):
    return {"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                                                 {"type": "Hostname", "address": name}],
                                                   "conditions": [{"type": "Ready", "status": ready}]}}


def test_serving_addresses_are_the_ready_nodes_internal_ips_in_address_order():
    nodes = [node("w2", "10.200.0.12"), node("m", "10.200.0.10"), node("w10", "10.200.0.100"),
             node("w1", "10.200.0.11", ready="Unknown")]
    assert serving_addresses(nodes) == ["10.200.0.10", "10.200.0.12", "10.200.0.100"]


def test_status_is_written_only_when_it_differs():
    addrs = ["10.200.0.10", "10.200.0.11"]
    assert needs_update({"status": {}}, addrs)
    assert not needs_update({"status": {"loadBalancer": load_balancer_status(addrs)}}, addrs)
    assert needs_update({"status": {"loadBalancer": load_balancer_status(addrs[:1])}}, addrs)


@pytest.mark.parametrize("value, want", [
    (None, None), (False, None),
    (True, IngressConfig("10.200.0.11", 80, 443, 60.0)),
    ({"http_port": 8080, "https_port": 0}, IngressConfig("10.200.0.11", 8080, 0, 60.0)),
    ({"bind_address": "0.0.0.0"}, IngressConfig("0.0.0.0", 80, 443, 60.0)),
])
def test_config(value, want):
    assert IngressConfig.from_value("proxy.yaml", value, "10.200.0.11") == want


@pytest.mark.parametrize("value, message", [
    ("yes", "ingress: must be true, false or a mapping"),
    ({"port": 80}, "ingress: port: unknown setting"),
    ({"http_port": 0}, "ingress.http_port: must be a port number"),
    ({"https_port": 70000}, "ingress.https_port: must be a port number"),
    ({"bind_address": "node"}, "ingress.bind_address: 'node' is not an IP address"),
    ({"read_timeout": 0}, "ingress.read_timeout: must be a positive number"),
])
def test_bad_config_is_one_line_naming_the_key(value, message):
    with pytest.raises(ConfigError, match=message):
        IngressConfig.from_value("proxy.yaml", value, "10.200.0.11")

