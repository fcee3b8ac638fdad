"""kubectl get ingress / ingressclass columns, as upstream prints them."""
import pytest

from labkube.api.tables import to_table


@pytest.mark.parametrize("spec, cells", [
    ({"controller": "labkube.io/ingress"}, ["labkube", "labkube.io/ingress", "<none>"]),
    ({"controller": "example.com/c", "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}},
     ["labkube", "example.com/c", "Params.k8s.example.com/p"]),
    ({"controller": "example.com/c", "parameters": {"kind": "ConfigMap", "name": "p"}},
     ["labkube", "example.com/c", "ConfigMap/p"]),
])
def test_ingressclass_columns(spec, cells):
    t = to_table("ingressclasses", [{"metadata": {"name": "labkube"}, "spec": spec}], "1")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Controller", "Parameters", "Age"]
    assert t["rows"][0]["cells"][:3] == cells


def test_ingress_columns_show_class_hosts_addresses_and_ports():
    ing = {"metadata": {"name": "lab"}, "spec": {"ingressClassName": "labkube", "tls": [{"hosts": ["a.lab"]}],
                                                 "rules": [{"host": "a.lab"}, {"host": "b.lab"}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.200.0.10"}, {"ip": "10.200.0.11"}]}}}
    t = to_table("ingresses", [ing], "1")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Class", "Hosts", "Address", "Ports", "Age"]
    assert t["rows"][0]["cells"][:5] == ["lab", "labkube", "a.lab,b.lab", "10.200.0.10,10.200.0.11", "80, 443"]
