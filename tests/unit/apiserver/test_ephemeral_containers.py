"""pods/ephemeralcontainers over HTTP, as `kubectl debug` uses it: a strategic merge patch that
adds a container; what may and may not change, and the errors."""
import pytest

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
       "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
URL = "/api/v1/namespaces/default/pods/web/ephemeralcontainers"
SMP = {"Content-Type": "application/strategic-merge-patch+json"}


def debugger(name="debugger-x1", **extra):
    return {"name": name, "image": "busybox", "stdin": True, "tty": True, "targetContainerName": "app", **extra}


@pytest.fixture
async def web(api):
    r = await api.post("/api/v1/namespaces/default/pods", json=POD)
    assert r.status == 201, await r.text()
    return await r.json()


async def add(api, *containers):
    return await api.patch(URL, json={"spec": {"ephemeralContainers": list(containers)}}, headers=SMP)


async def test_kubectl_debug_adds_an_ephemeral_container_and_nothing_else(api, web):
    r = await api.patch(URL, headers=SMP, json={"metadata": {"labels": {"sneaky": "yes"}},
                                                "spec": {"ephemeralContainers": [debugger()],
                                                         "containers": [{"name": "app", "image": "evil"}]}})
    body = await r.json()
    assert r.status == 200, body
    ec = body["spec"]["ephemeralContainers"]
    assert [(c["name"], c["targetContainerName"], c["imagePullPolicy"], c["terminationMessagePolicy"])
            for c in ec] == [("debugger-x1", "app", "Always", "File")]
    assert body["spec"]["containers"][0]["image"] == "nginx" and "sneaky" not in (body["metadata"].get("labels") or {})
    got = await (await api.get(URL)).json()
    assert got["kind"] == "Pod" and got["spec"]["ephemeralContainers"][0]["name"] == "debugger-x1"
    r = await add(api, debugger("debugger-x2"))        # a second one, merged by name
    names = [c["name"] for c in (await r.json())["spec"]["ephemeralContainers"]]
    assert r.status == 200 and names == ["debugger-x1", "debugger-x2"]


async def test_put_replaces_the_list(api, web):
    pod = dict(web, spec=dict(web["spec"], ephemeralContainers=[debugger()]))
    r = await api.put(URL, json=pod)
    assert r.status == 200 and (await r.json())["spec"]["ephemeralContainers"][0]["name"] == "debugger-x1"


BAD = [
    # (id, ephemeral containers, what the error says)
    ("taken-name", [debugger("app")], 'spec.ephemeralContainers[0].name: Duplicate value: "app"'),
    ("no-image", [{"name": "dbg"}], "spec.ephemeralContainers[0].image: Required value"),
    ("ports", [debugger(ports=[{"containerPort": 80}])],
     "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container"),
    ("probe", [debugger(readinessProbe={"exec": {"command": ["true"]}})],
     "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container"),
    ("no-such-target", [debugger(targetContainerName="nosuch")],
     'spec.ephemeralContainers[0].targetContainerName: Not found: "nosuch"'),
]


@pytest.mark.parametrize("containers, says", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_invalid_ephemeral_containers_are_refused(api, web, containers, says):
    r = await add(api, *containers)
    body = await r.json()
    assert r.status == 422 and says in body["message"], body
    assert "ephemeralContainers" not in (await (await api.get(URL)).json())["spec"]


async def test_existing_ephemeral_containers_stay_as_they_are(api, web):
    assert (await add(api, debugger())).status == 200
    r = await add(api, debugger(image="alpine"))
    assert r.status == 422 and 'existing ephemeral container "debugger-x1" may not be changed' in \
        (await r.json())["message"]
    pod = await (await api.get(URL)).json()
    pod["spec"]["ephemeralContainers"] = []
    r = await api.put(URL, json=pod)
    assert r.status == 422 and "existing ephemeral containers 'debugger-x1' may not be removed" in \
        (await r.json())["message"]


async def test_a_missing_pod_is_not_found_with_details(api):
    r = await add(api, debugger())
    body = await r.json()
    assert r.status == 404 and body["details"]["name"] == "web"      # kubectl tells this from "disabled"
