"""The default IngressClass `labkube` the apiserver creates at start, and DefaultIngressClass
admission: an Ingress that names no class gets the default one."""
import pytest

CLASSES = "/apis/networking.k8s.io/v1/ingressclasses"
INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"


def _ingress(name, class_name=None, annotations=None):
    spec = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"metadata": {"name": name, **({"annotations": annotations} if annotations else {})}, "spec": spec}


async def test_the_labkube_class_is_served_as_the_default(api):
    ic = await (await api.get(CLASSES + "/labkube")).json()
    assert ic["spec"]["controller"] == "labkube.io/ingress"
    assert ic["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"


@pytest.mark.parametrize("name, class_name, annotations, want", [
    ("plain", None, None, "labkube"),
    ("named", "nginx", None, "nginx"),
    ("legacy", None, {"kubernetes.io/ingress.class": "nginx"}, None),
])
async def test_an_ingress_without_a_class_gets_the_default(api, name, class_name, annotations, want):
    r = await api.post(INGRESSES, json=_ingress(name, class_name, annotations))
    assert r.status == 201, await r.text()
    assert (await r.json())["spec"].get("ingressClassName") == want


async def test_without_a_default_class_an_ingress_keeps_no_class(api):
    await api.patch(CLASSES + "/labkube", json={"metadata": {"annotations": {
        "ingressclass.kubernetes.io/is-default-class": "false"}}},
        headers={"Content-Type": "application/merge-patch+json"})
    body = await (await api.post(INGRESSES, json=_ingress("classless"))).json()
    assert "ingressClassName" not in body["spec"]
