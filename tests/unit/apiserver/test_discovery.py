"""Discovery (legacy and aggregated), /version, health, OpenAPI v3, componentstatuses."""
from labkube import KUBE_VERSION

AGG = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
       "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


async def test_version_and_health(api):
    v = await (await api.get("/version?timeout=5s")).json()
    assert v["gitVersion"] == KUBE_VERSION and v["minor"] == "31"
    for p in ("/healthz", "/readyz", "/livez"):
        r = await api.get(p)
        assert r.status == 200 and await r.text() == "ok"


async def test_legacy_discovery(api):
    r = await api.get("/api")
    assert r.headers["Content-Type"].startswith("application/json")
    assert (await r.json())["versions"] == ["v1"]
    v1 = await (await api.get("/api/v1")).json()
    names = {e["name"]: e for e in v1["resources"]}
    assert names["pods"]["shortNames"] == ["po"] and names["pods"]["namespaced"] is True
    assert names["pods/log"]["verbs"] == ["get"]
    assert names["pods/eviction"]["group"] == "policy"
    groups = await (await api.get("/apis")).json()
    assert "apps" in [g["name"] for g in groups["groups"]]
    apps = await (await api.get("/apis/apps/v1")).json()
    scale = next(e for e in apps["resources"] if e["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


async def test_aggregated_discovery(api):
    r = await api.get("/apis", headers={"Accept": AGG})
    assert r.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    body = await r.json()
    apps = next(i for i in body["items"] if i["metadata"]["name"] == "apps")
    dep = next(x for x in apps["versions"][0]["resources"] if x["resource"] == "deployments")
    assert dep["scope"] == "Namespaced" and "all" in dep["categories"]
    core = await (await api.get("/api", headers={"Accept": AGG})).json()
    assert core["items"][0]["metadata"]["name"] == ""


async def test_openapi_v3_has_patch_with_gvk_and_field_validation(api):
    root = await (await api.get("/openapi/v3")).json()
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = await (await api.get(url)).json()
    ops = [p["patch"] for p in doc["paths"].values() if "patch" in p]
    dep = next(o for o in ops if o["x-kubernetes-group-version-kind"]["kind"] == "Deployment")
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in dep["parameters"] if p["name"] == "fieldValidation").items()


async def test_openapi_v2_is_an_empty_document(api):
    """kubectl falls back to v2 for a group-version v3 lacks (apps/v1beta1) and must find no
    schema there, so that it reports `no matches for kind` as against Kubernetes."""
    from labkube.apiserver.openapi import V2_PROTOBUF
    pb = await api.get("/openapi/v2", headers={"Accept": f"{V2_PROTOBUF}, application/json"})
    assert pb.status == 200 and await pb.read() == b""
    assert pb.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = await (await api.get("/openapi/v2")).json()
    assert doc["swagger"] == "2.0" and doc["paths"] == {} and doc["definitions"] == {}


async def test_componentstatuses(api):
    r = await api.get("/api/v1/componentstatuses")
    body = await r.json()
    assert r.headers.get("Warning", "").startswith("299")
    etcd = next(i for i in body["items"] if i["metadata"]["name"] == "etcd-0")
    assert etcd["conditions"][0] == {"type": "Healthy", "status": "True", "message": "ok"}
