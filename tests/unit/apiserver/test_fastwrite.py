"""The direct write path (labkube.apiserver.fastwrite): which bindings, pod status patches, Lease
renewals and Event creates it takes, and that its replies - successes and every error - are
byte for byte the aiohttp path's, with the same RBAC decisions (a user RBAC does not allow is
answered 403 by the aiohttp path) and the same effects."""
import gzip
import re

import pytest
from apiserver_helpers import PODS, pod
from fastpath_helpers import exchange, exchange_with_both, get, normalised, paired_servers, post

from labkube import jsonio
from labkube.apiserver import fastget

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
EVENTS = "/api/v1/namespaces/default/events"
SETUP = [("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}}),
         (PODS, pod("web")), (PODS, pod("next")), (PODS, pod("bound")),
         (PODS + "/bound/binding", {"target": {"name": "n1"}}),
         (LEASES, {"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}}),
         (EVENTS, {"metadata": {"name": "seen"}, "involvedObject": {"kind": "Pod", "name": "web"},
                   "reason": "Scheduled", "message": "m"})]
USERS = {"scheduler": ("system:kube-scheduler", []), "node": ("system:node:n1", ["system:nodes"]),
         "nobody": ("jane", [])}


@pytest.fixture
async def servers(tmp_path):
    """The same writes on a server with the direct paths and on one with aiohttp's alone."""
    async for started in paired_servers(tmp_path, SETUP, USERS):
        yield started


def binding(pod_name, node="n1", **extra):
    return post(f"{PODS}/{pod_name}/binding", {"apiVersion": "v1", "kind": "Binding",
                                               "metadata": {"name": pod_name, **extra}, "target": {"name": node}})


def status_patch(pod_name, body, content_type="application/strategic-merge-patch+json", query=""):
    return post(f"{PODS}/{pod_name}/status{query}", body, content_type=content_type, method="PATCH")


def lease(name, renew="2026-12-02T23:00:00.000000Z", **md):
    return post(f"{LEASES}/{name}", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {"name": name, **md},
                                     "spec": {"holderIdentity": name, "renewTime": renew}}, method="PUT")


def event(name, **extra):
    return post(EVENTS, {"metadata": {"name": name}, "involvedObject": {"kind": "Pod", "name": "web"},
                         "reason": "Started", "message": "m", **extra})


RUNNING = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
B, S, L, E = PODS + "/web/binding", PODS + "/web/status", LEASES + "/n1", EVENTS
GZIPPED = post(B, gzip.compress(jsonio.dumps({"target": {"name": "n1"}})), "Content-Encoding: gzip")

# (case, request bytes, responses, the paths the direct path answered, client certificate, status lines)
CASES = [
    # bindings (the scheduler)
    ("binding", binding("web"), 1, [B], "scheduler", [201]),
    ("binding by an admin", binding("web"), 1, [B], True, [201]),
    ("binding with another uid: 409", binding("web", uid="not-it"), 1, [B], "scheduler", [409]),
    ("already bound: 409", binding("bound"), 1, [PODS + "/bound/binding"], "scheduler", [409]),
    ("no such pod: 404", binding("gone"), 1, [PODS + "/gone/binding"], "scheduler", [404]),
    ("no target name: 422", post(B, {"target": {}}), 1, [B], "scheduler", [422]),
    ("target kind not Node: 422", post(B, {"target": {"name": "n1", "kind": "Pod"}}), 1, [B], "scheduler", [422]),
    ("not an object: 400", post(B, b"[1]"), 1, [B], "scheduler", [400]),
    ("not JSON: 400", post(B, b"{nope"), 1, [B], "scheduler", [400]),
    ("empty body: 400", post(B, b""), 1, [B], "scheduler", [400]),
    ("binding by a node: 403 from aiohttp", binding("web"), 1, [], "node", [403]),
    ("binding by a user without roles: 403 from aiohttp", binding("web"), 1, [], "nobody", [403]),
    ("binding without a certificate: 401 from aiohttp", binding("web"), 1, [], False, [401]),
    ("binding as someone else: aiohttp", binding("web").replace(b"Host: x\r\n", b"Host: x\r\nImpersonate-User: a\r\n"),
     1, [], True, [403]),
    ("binding dry run: aiohttp", post(B + "?dryRun=All", {"target": {"name": "n1"}}), 1, [], "scheduler", [201]),
    ("binding as YAML: aiohttp", post(B, b"target: {name: n1}\n", content_type="application/yaml"), 1, [],
     "scheduler", [201]),
    ("binding with Expect: aiohttp", post(B, {"target": {"name": "n1"}}, "Expect: 100-continue"), 1, [],
     "scheduler", [201]),
    ("binding with Connection: close: aiohttp", post(B, {"target": {"name": "n1"}}, "Connection: close"), 1, [],
     "scheduler", [201]),
    ("eviction: aiohttp", post(PODS + "/web/eviction", {}), 1, [], True, [201]),
    ("binding with header names in lower case", binding("web").replace(b"Content-Type:", b"content-type:")
     .replace(b"Content-Length:", b"content-length:"), 1, [B], "scheduler", [201]),
    ("gzipped binding (read by aiohttp's parser)", GZIPPED, 1, [B], "scheduler", [201]),
    # pod status patches (the kubelet)
    ("strategic merge status patch", status_patch("bound", RUNNING), 1, [PODS + "/bound/status"], "node", [200]),
    ("merge status patch", status_patch("web", {"status": {"phase": "Running"}}, "application/merge-patch+json"), 1,
     [S], "node", [200]),
    ("status patch that changes nothing (its reply not the stored text)",
     status_patch("bound", {}, "application/merge-patch+json"), 1, [PODS + "/bound/status"], "node", [200]),
    ("JSON status patch", status_patch("web", [{"op": "add", "path": "/status/phase", "value": "Failed"}],
                                       "application/json-patch+json"), 1, [S], "node", [200]),
    ("status patch with a charset", status_patch("web", RUNNING, "application/merge-patch+json; charset=utf-8"), 1,
     [S], "node", [200]),
    ("status patch with a User-Agent's manager",
     status_patch("web", RUNNING).replace(b"Host: x\r\n", b"Host: x\r\nUser-Agent: kubelet/v1.31.0 (linux)\r\n"), 1,
     [S], "node", [200]),
    ("JSON patch that does not apply: 422", status_patch("web", [{"op": "replace", "path": "/status/nope/x",
                                                                   "value": 1}], "application/json-patch+json"), 1,
     [S], "node", [422]),
    ("merge patch not an object: 422", status_patch("web", b"[1]", "application/merge-patch+json"), 1, [S], "node",
     [422]),
    ("status patch not JSON: 400", status_patch("web", b"{nope"), 1, [S], "node", [400]),
    ("status patch with a stale resourceVersion: 409",
     status_patch("web", {"metadata": {"resourceVersion": "1"}, **RUNNING}), 1, [S], "node", [409]),
    ("status patch of no such pod: 404", status_patch("gone", RUNNING), 1, [PODS + "/gone/status"], "node", [404]),
    ("status patch by a user without roles: 403 from aiohttp", status_patch("web", RUNNING), 1, [], "nobody", [403]),
    ("status patch without a certificate: 401 from aiohttp", status_patch("web", RUNNING), 1, [], False, [401]),
    ("apply patch: aiohttp", status_patch("web", b"{}", "application/apply-patch+yaml"), 1, [], "node", [422]),
    ("status patch with fieldManager: aiohttp", status_patch("web", RUNNING, query="?fieldManager=me"), 1, [],
     "node", [200]),
    ("status PUT: aiohttp", post(S, {**pod("web"), **RUNNING}, method="PUT"), 1, [], "node", [200]),
    ("pod patch: aiohttp", post(PODS + "/web", {"metadata": {"labels": {"a": "b"}}}, method="PATCH",
                                content_type="application/merge-patch+json"), 1, [], "node", [200]),
    # Lease renewals (every node)
    ("lease renewal", lease("n1"), 1, [L], "node", [200]),
    ("lease renewal by the scheduler's RBAC", lease("n1"), 1, [L], "scheduler", [200]),
    ("lease with a stale resourceVersion: 409", lease("n1", resourceVersion="1"), 1, [L], "node", [409]),
    ("lease named otherwise than its path: 400", post(L, {"metadata": {"name": "n2"}}, method="PUT"), 1, [L], "node",
     [400]),
    ("lease not an object: 400", post(L, b"[1]", method="PUT"), 1, [L], "node", [400]),
    ("no such lease: 404", lease("n9"), 1, [LEASES + "/n9"], "node", [404]),
    ("lease by a user without roles: 403 from aiohttp", lease("n1"), 1, [], "nobody", [403]),
    ("lease create: aiohttp", post(LEASES, {"metadata": {"name": "n2"}, "spec": {}}), 1, [], "node", [201]),
    ("lease with fieldValidation: aiohttp", post(L + "?fieldValidation=Strict", {"metadata": {"name": "n1"}},
                                                  method="PUT"), 1, [], "node", [200]),
    # Event creates (every component)
    ("event", event("started"), 1, [E], "scheduler", [201]),
    ("event by a node", event("started"), 1, [E], "node", [201]),
    ("event that exists: 409", event("seen"), 1, [E], "scheduler", [409]),
    ("event without a name: 422", post(E, {"involvedObject": {"kind": "Pod"}, "reason": "x"}), 1, [E], "scheduler",
     [422]),
    ("event in no such namespace: 404", event("e").replace(EVENTS.encode(), b"/api/v1/namespaces/nope/events"), 1,
     ["/api/v1/namespaces/nope/events"], "scheduler", [404]),
    ("event by a user without roles: 403 from aiohttp", event("started"), 1, [], "nobody", [403]),
    ("event dry run: aiohttp", event("d").replace(EVENTS.encode(), (EVENTS + "?dryRun=All").encode()), 1, [],
     "scheduler", [201]),
    # several on one connection
    ("denied binding, status patch and GET pipelined: all aiohttp's, in order",
     binding("web") + status_patch("web", RUNNING) + get(PODS + "/web"), 3, [], "node", [403, 200, 200]),
    ("binding, then status patch, lease and event held behind it for aiohttp, in order",
     binding("web") + status_patch("web", RUNNING) + lease("n1") + event("e1"), 4, [B], True,
     [201, 200, 200, 201]),
    ("binding of the next pod behind a list stays behind it", get(PODS) + binding("next"), 2, [], "scheduler",
     [200, 201]),
]


@pytest.mark.parametrize("raw,count,direct,cert,codes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_direct_writes_equal_aiohttp_writes(servers, raw, count, direct, cert, codes):
    fast, plain, fast_seen, plain_seen = await exchange_with_both(servers, raw, count, cert)
    assert [int(re.findall(rb"HTTP/1.[01] (\d+) ", r)[-1]) for r in fast] == codes  # after any 100 Continue
    assert [normalised(r) for r in fast] == [normalised(r) for r in plain]
    answered_directly = list(plain_seen)
    for path in fast_seen:
        answered_directly.remove(path)
    assert answered_directly == direct


IMPERSONATING = binding("web").replace(b"Host: x\r\n", b"Host: x\r\nImpersonate-User: a\r\n")
DRY_RUN = post(B + "?dryRun=All", {"target": {"name": "n1"}})


@pytest.mark.parametrize("raw,parsed_by_aiohttp", [
    (binding("web"), []),  # read by fastparse.plain_write and taken
    (binding("web", uid="not-it"), []),  # read and taken: its 409 is the direct path's
    (IMPERSONATING, [IMPERSONATING]),  # not read
    (GZIPPED, [GZIPPED]),  # not read: aiohttp's parser decompresses the body
    (DRY_RUN, [DRY_RUN]),  # read, not taken: aiohttp's parser and path
    # two in one read (pipelined), a GET after a write: aiohttp's parser splits them
    (binding("web") + get(PODS + "/web"), [binding("web") + get(PODS + "/web")]),
    (binding("web") + binding("other"), []),  # pipelined bindings of two pods: both read and taken
], ids=["binding", "binding answered 409", "impersonation", "gzip", "dry run", "pipelined, a GET after",
        "pipelined bindings"])
async def test_direct_writes_skip_aiohttps_parser(servers, monkeypatch, raw, parsed_by_aiohttp):
    fed = []
    feed = fastget._Parser.feed_data
    monkeypatch.setattr(fastget._Parser, "feed_data", lambda self, data: fed.append(data) or feed(self, data))
    (_, fast_port, _), _ = servers[0]
    replies = await exchange(fast_port, servers[1], raw, raw.count(b" HTTP/1.1\r\n"))
    assert all(r.startswith(b"HTTP/1.1 ") for r in replies)
    assert [d for d in fed if d] == parsed_by_aiohttp


async def _read(servers, path):
    (_, fast_port, _), (_, plain_port, _) = servers[0]
    out = []
    for port in (fast_port, plain_port):
        (resp,) = await exchange(port, servers[1], get(path), 1)
        out.append(jsonio.loads(resp.split(b"\r\n\r\n", 1)[1]))
    return out


async def test_direct_writes_have_the_aiohttp_writes_effects(servers):
    """What is stored after each write, read back from both servers (the replies above compare
    the responses; this compares the objects the next reader sees)."""
    await exchange_with_both(servers, binding("web"), 1, "scheduler")
    await exchange_with_both(servers, status_patch("web", RUNNING).replace(
        b"Host: x\r\n", b"Host: x\r\nUser-Agent: kubelet/v1.31.0\r\n"), 1, "node")
    await exchange_with_both(servers, lease("n1", renew="2026-12-02T23:59:00.000000Z"), 1, "node")
    await exchange_with_both(servers, event("e2"), 1, "scheduler")
    fast_pod, plain_pod = await _read(servers, PODS + "/web")
    assert fast_pod["spec"]["nodeName"] == plain_pod["spec"]["nodeName"] == "n1"
    assert fast_pod["status"]["phase"] == "Running"
    assert [c["type"] for c in fast_pod["status"]["conditions"]] == \
        [c["type"] for c in plain_pod["status"]["conditions"]]
    assert [(m["manager"], m["operation"], m.get("subresource")) for m in fast_pod["metadata"]["managedFields"]] == \
        [(m["manager"], m["operation"], m.get("subresource")) for m in plain_pod["metadata"]["managedFields"]]
    assert ("kubelet", "Update", "status") in [(m["manager"], m["operation"], m.get("subresource"))
                                               for m in fast_pod["metadata"]["managedFields"]]
    fast_lease, plain_lease = await _read(servers, L)
    assert fast_lease["spec"] == plain_lease["spec"] and fast_lease["spec"]["renewTime"].startswith("2026-12-02T23:59")
    fast_event, plain_event = await _read(servers, EVENTS + "/e2")
    assert fast_event["reason"] == plain_event["reason"] == "Started"
    assert normalised(jsonio.dumps(fast_event)) == normalised(jsonio.dumps(plain_event))


async def test_forbidden_write_names_the_user_and_the_verb(servers):
    """What the compared 403 says (so the byte comparison above compares the right thing)."""
    (_, fast_port, _), _ = servers[0]
    (resp,) = await exchange(fast_port, servers[3]["node"], binding("web"), 1)
    denied = jsonio.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert denied["code"] == 403 and 'User "system:node:n1" cannot create resource "pods/binding"' in \
        denied["message"]
