"""The real apiserver driven by the real kubectl (1.31 via the dispatcher) and the official
Python client, over HTTPS on 127.0.0.1 with a throwaway CA and client certificates.

Needs no root: everything lives in a pytest tmp dir (kubeconfig, HOME, kubectl cache).
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

# runs its own apiserver on loopback: no netns nodes, so no need to wait for the lab lock
USES_LAB = False


# -- PKI ------------------------------------------------------------------------------
def _pki(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def write(name, cert, key):
        (d / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{name}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))

    def builder(subject, issuer, pub):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1)))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca = builder(ca_name, ca_name, ca_key.public_key()).add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256())
    write("ca", ca, ca_key)

    def leaf(name, cn, orgs=(), server=False):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] +
                            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs])
        b = builder(subject, ca_name, key.public_key())
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        write(name, b.sign(ca_key, hashes.SHA256()), key)

    leaf("apiserver", "kube-apiserver", server=True)
    leaf("admin", "kubernetes-admin", ["system:masters"])
    leaf("kubelet", "fake-node", server=True)
    leaf("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, d, port):
        self.dir, self.port = d, port
        self.kubeconfig = str(d / "admin.kubeconfig")
        self.env = dict(os.environ, HOME=str(d / "home"), KUBECONFIG=self.kubeconfig)
        self.env.pop("KUBECTL_EXTERNAL_DIFF", None)

    def kubectl(self, *args, check=True, input=None, env=None, timeout=120):
        cmd = ["kubectl", "--cache-dir", str(self.dir / "cache"), *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env={**self.env, **(env or {})},
                           input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, manifest: dict, *args):
        return self.kubectl("apply", "-f", "-", *args, input=yaml.safe_dump(manifest))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    d = tmp_path_factory.mktemp("lab")
    (d / "home").mkdir()
    _pki(d)
    port = _free_port()
    cfg = {"bind_address": "127.0.0.1", "secure_port": port, "tls_cert_file": str(d / "apiserver.crt"),
           "tls_private_key_file": str(d / "apiserver.key"), "client_ca_file": str(d / "ca.crt"),
           "storage": {"backend": "sqlite", "path": str(d / "registry.db")},
           "service_cluster_ip_range": "10.96.0.0/12", "watch_history": 40,
           "kubelet_client_certificate": str(d / "apiserver-kubelet-client.crt"),
           "kubelet_client_key": str(d / "apiserver-kubelet-client.key"),
           "kubelet_certificate_authority": str(d / "ca.crt")}
    (d / "apiserver.yaml").write_text(yaml.safe_dump(cfg))
    (d / "admin.kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                 "certificate-authority": str(d / "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": str(d / "admin.crt"),
                                             "client-key": str(d / "admin.key")}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}]}))
    log = open(d / "apiserver.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "labkube.apiserver", "--config", str(d / "apiserver.yaml")],
                            stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None:
            raise AssertionError("apiserver exited: " + (d / "apiserver.log").read_text())
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("apiserver never became ready: " + (d / "apiserver.log").read_text())
    lab = Lab(d, port)
    # no controller-manager here: make the `default` ServiceAccount its ServiceAccount
    # controller would, or pod admission refuses every pod that does not name another one
    lab.kubectl("create", "serviceaccount", "default")
    yield lab
    proc.terminate()
    assert proc.wait(timeout=30) == 0, (d / "apiserver.log").read_text()
    log.close()
    assert "Traceback" not in (d / "apiserver.log").read_text(), (d / "apiserver.log").read_text()


class FakeKubelet:
    """The kubelet's HTTPS log API (containerLogs) on 127.0.0.1 in a thread, client certs required."""

    def __init__(self, d):
        import asyncio

        from aiohttp import web

        async def logs(request):
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await resp.prepare(request)
            for i in range(3 if request.query.get("follow") == "true" else 1):
                await resp.write(f"hi {i}\n".encode())
            await resp.write_eof()
            return resp

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(d / "ca.crt"))
        ctx.load_cert_chain(d / "kubelet.crt", d / "kubelet.key")
        ctx.verify_mode = ssl.CERT_REQUIRED
        app = web.Application()
        app.router.add_get("/containerLogs/{ns}/{pod}/{c}", logs)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self):
        import asyncio
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def _pod(name, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}], **spec}}


def _deploy(name, image="nginx:1.25", replicas=2):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


# -- kubectl -----------------------------------------------------------------------------
def test_dispatcher_runs_kubectl_131(lab):
    v = json.loads(lab.kubectl("version", "-o", "json").stdout)
    assert v["serverVersion"]["minor"] == "31"
    assert v["clientVersion"]["minor"] == "31"


def test_api_resources_and_system_namespaces(lab):
    out = lab.kubectl("api-resources").stdout
    for line in ("pods ", "deployments ", "replicasets ", "namespaces ", "leases "):
        assert line in out
    ns = lab.kubectl("get", "ns").stdout
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert any(l.split()[:2] == [name, "Active"] for l in ns.splitlines()), ns
    svc = lab.json("get", "svc", "kubernetes", "-n", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


def test_explain_walks_into_fields(lab):
    out = lab.kubectl("explain", "pod.spec.containers").stdout
    assert "FIELD: containers <[]Object>" in out and "image\t<string>" in out
    assert "replicas\t<integer>" in lab.kubectl("explain", "deployment.spec").stdout
    probe = lab.kubectl("explain", "pod.spec.containers.livenessProbe").stdout
    assert "when it fails often enough the container is restarted" in " ".join(probe.split())
    assert "httpGet\t<Object>" in probe
    assert "stable names (web-0, web-1 ...)" in " ".join(lab.kubectl("explain", "statefulset").stdout.split())


def test_no_client_cert_is_401_but_version_is_public(lab):
    ctx = ssl.create_default_context(cafile=str(lab.dir / "ca.crt"))
    base = f"https://127.0.0.1:{lab.port}"
    with urllib.request.urlopen(base + "/version", context=ctx) as r:
        assert json.load(r)["minor"] == "31"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/api/v1/pods", context=ctx)
    assert e.value.code == 401
    assert json.loads(e.value.read())["reason"] == "Unauthorized"


def test_create_get_wide_yaml_json_and_delete_pod(lab):
    out = lab.kubectl("create", "-f", "-", input=yaml.safe_dump(_pod("p1"))).stdout
    assert "pod/p1 created" in out
    pod = lab.json("get", "pod", "p1")
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["status"]["phase"] == "Pending"
    assert pod["metadata"]["uid"] and pod["metadata"]["creationTimestamp"]
    y = yaml.safe_load(lab.kubectl("get", "pod", "p1", "-o", "yaml").stdout)
    assert y["metadata"]["name"] == "p1" and y["kind"] == "Pod"
    wide = lab.kubectl("get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    row = next(l.split() for l in wide if l.startswith("p1 "))
    assert row[1:4] == ["0/1", "Pending", "0"]
    assert "p1" in lab.kubectl("get", "pods", "-A").stdout
    assert "app=p1" in lab.kubectl("get", "pod", "p1", "--show-labels").stdout
    assert 'pod "p1" deleted' in lab.kubectl("delete", "pod", "p1").stdout
    gone = lab.kubectl("get", "pod", "p1", check=False)
    assert gone.returncode == 1 and 'pods "p1" not found' in gone.stderr


def test_invalid_pod_names_the_field(lab):
    bad = _pod("bad")
    del bad["spec"]["containers"][0]["image"]
    p = lab.kubectl("create", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert p.returncode == 1
    assert 'Pod "bad" is invalid: spec.containers[0].image: Required value' in p.stderr


def test_unknown_field_is_rejected_like_upstream(lab):
    typo = _pod("typo")
    typo["spec"]["containers"][0]["imagee"] = "busybox"
    p = lab.kubectl("create", "-f", "-", input=yaml.safe_dump(typo), check=False)
    assert p.returncode == 1 and 'strict decoding error: unknown field "spec.containers[0].imagee"' in p.stderr
    ok = lab.kubectl("create", "-f", "-", "--validate=false", input=yaml.safe_dump(_pod("typo")))
    assert "created" in ok.stdout
    lab.kubectl("delete", "pod", "typo")


def test_apply_twice_label_annotate_patch_scale(lab):
    assert "created" in lab.apply(_deploy("web2")).stdout
    dep = lab.json("get", "deploy", "web2")
    assert dep["metadata"]["generation"] == 1
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert "configured" in lab.apply(_deploy("web2", image="nginx:1.26")).stdout
    dep = lab.json("get", "deploy", "web2")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]
    lab.kubectl("label", "deploy", "web2", "tier=fe")
    lab.kubectl("annotate", "deploy", "web2", "note=hello")
    dep = lab.json("get", "deploy", "web2")
    assert dep["metadata"]["labels"]["tier"] == "fe"
    assert dep["metadata"]["annotations"]["note"] == "hello"
    assert dep["metadata"]["generation"] == 2  # metadata changes do not bump generation
    lab.kubectl("patch", "deploy", "web2", "--type=merge", "-p", '{"spec":{"minReadySeconds":5}}')
    lab.kubectl("patch", "deploy", "web2", "--type=json", "-p",
                '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]')
    lab.kubectl("patch", "deploy", "web2", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}')
    lab.kubectl("scale", "deploy", "web2", "--replicas=4")
    dep = lab.json("get", "deploy", "web2")
    assert dep["spec"]["minReadySeconds"] == 5
    assert dep["spec"]["revisionHistoryLimit"] == 3
    assert dep["spec"]["template"]["spec"]["containers"] == [
        {**dep["spec"]["template"]["spec"]["containers"][0], "name": "web", "image": "nginx:1.27"}]
    assert dep["spec"]["replicas"] == 4
    assert dep["metadata"]["generation"] == 6
    lab.kubectl("label", "deploy", "web2", "tier-")
    assert "tier" not in lab.json("get", "deploy", "web2")["metadata"].get("labels", {})
    wide = lab.kubectl("get", "deploy", "web2", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["web", "nginx:1.27", "app=web2"]
    lab.kubectl("delete", "deploy", "web2")
    assert "web2" not in lab.kubectl("get", "deploy").stdout


def test_status_subresource_patch_only_changes_status(lab):
    lab.apply(_pod("st1"))
    lab.kubectl("patch", "pod", "st1", "--subresource=status", "--type=merge",
                "-p", '{"status":{"phase":"Running"},"metadata":{"labels":{"x":"y"}}}')
    pod = lab.json("get", "pod", "st1")
    assert pod["status"]["phase"] == "Running"
    assert "x" not in pod["metadata"]["labels"]
    lab.kubectl("delete", "pod", "st1")


def test_create_deployment_and_run(lab):
    lab.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=2", "--", "sleep", "3600")
    dep = lab.json("get", "deploy", "web")
    assert dep["spec"]["replicas"] == 2
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["sleep", "3600"] and c["imagePullPolicy"] == "Always"
    lab.kubectl("run", "hello", "--image=busybox", "--", "sh", "-c", "echo hi; sleep 3600")
    pod = lab.json("get", "pod", "hello")
    assert pod["metadata"]["labels"] == {"run": "hello"}
    assert pod["spec"]["containers"][0]["args"] == ["sh", "-c", "echo hi; sleep 3600"]
    logs = lab.kubectl("logs", "hello", check=False)
    assert logs.returncode == 1 and "BadRequest" in logs.stderr
    lab.kubectl("delete", "pod", "hello")
    lab.kubectl("delete", "deploy", "web")


def test_edit_with_editor(lab):
    lab.apply(_deploy("ed1"))
    editor = lab.dir / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 2/replicas: 7/' \"$1\"\n")
    editor.chmod(0o755)
    lab.kubectl("edit", "deploy", "ed1", env={"KUBE_EDITOR": str(editor)})
    assert lab.json("get", "deploy", "ed1")["spec"]["replicas"] == 7
    lab.kubectl("delete", "deploy", "ed1")


def _managers(obj) -> dict:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields") or []}


def test_client_side_apply_then_server_side_apply_migrates_ownership(lab):
    lab.apply(_deploy("csa1", replicas=2))
    before = _managers(lab.json("get", "deploy", "csa1", "--show-managed-fields"))
    assert ("kubectl-client-side-apply", "Update") in before
    # a changed value would conflict with the client-side manager (as upstream); the same config
    # does not, and kubectl then moves that manager's fields to its apply manager
    lab.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(_deploy("csa1", replicas=2)))
    lab.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(_deploy("csa1", replicas=3)))
    dep = lab.json("get", "deploy", "csa1", "--show-managed-fields")
    assert dep["spec"]["replicas"] == 3
    managers = _managers(dep)
    assert ("kubectl-client-side-apply", "Update") not in managers
    assert managers[("kubectl", "Apply")]["fieldsV1"]["f:spec"]["f:replicas"] == {}
    lab.kubectl("delete", "deploy", "csa1")


def test_server_side_apply_field_managers_conflicts_and_force(lab):
    ssa = ("apply", "--server-side", "-f", "-")
    first = lab.kubectl(*ssa, input=yaml.safe_dump(_deploy("ssa1", replicas=2)))
    assert "deployment.apps/ssa1 serverside-applied" in first.stdout
    labelled = _deploy("ssa1", replicas=2)
    labelled["metadata"]["labels"] = {"team": "a", "tier": "web"}
    lab.kubectl(*ssa, input=yaml.safe_dump(labelled))
    shown = yaml.safe_load(lab.kubectl("get", "deploy", "ssa1", "-o", "yaml", "--show-managed-fields").stdout)
    entry = _managers(shown)[("kubectl", "Apply")]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"]["f:metadata"]["f:labels"] == {".": {}, "f:team": {}, "f:tier": {}}
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"] == {}
    assert "managedFields" not in lab.kubectl("get", "deploy", "ssa1", "-o", "yaml").stdout  # hidden by default

    # a second field manager that wants another replica count conflicts, and changes nothing
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa1"}, "spec": {"replicas": 5}}
    p = lab.kubectl(*ssa, "--field-manager=autoscaler", input=yaml.safe_dump(other), check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in p.stderr
    assert lab.json("get", "deploy", "ssa1")["spec"]["replicas"] == 2
    # --force-conflicts takes the field over
    lab.kubectl(*ssa, "--field-manager=autoscaler", "--force-conflicts", input=yaml.safe_dump(other))
    dep = lab.json("get", "deploy", "ssa1", "--show-managed-fields")
    assert dep["spec"]["replicas"] == 5
    managers = _managers(dep)
    assert managers[("autoscaler", "Apply")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in managers[("kubectl", "Apply")]["fieldsV1"]["f:spec"]

    # kubectl's config without a label and without replicas: the label goes, replicas stay (not its field)
    cfg = _deploy("ssa1", replicas=2)
    del cfg["spec"]["replicas"]
    cfg["metadata"]["labels"] = {"team": "a"}
    lab.kubectl(*ssa, input=yaml.safe_dump(cfg))
    dep = lab.json("get", "deploy", "ssa1", "--show-managed-fields")
    assert dep["metadata"]["labels"] == {"team": "a"} and dep["spec"]["replicas"] == 5

    # updates are recorded as Update managers: kubectl scale, kubectl edit
    lab.kubectl("scale", "deploy", "ssa1", "--replicas=3")
    editor = lab.dir / "editor-ssa.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/image: nginx:1.25/image: nginx:1.27/' \"$1\"\n")
    editor.chmod(0o755)
    lab.kubectl("edit", "deploy", "ssa1", env={"KUBE_EDITOR": str(editor)})
    dep = lab.json("get", "deploy", "ssa1", "--show-managed-fields")
    managers = _managers(dep)
    edit = managers[("kubectl-edit", "Update")]["fieldsV1"]
    assert edit["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}'] == {"f:image": {}}
    scaled = [e for e in dep["metadata"]["managedFields"] if e.get("subresource") == "scale"]
    assert [e["fieldsV1"] for e in scaled] == [{"f:spec": {"f:replicas": {}}}] and scaled[0]["operation"] == "Update"
    assert ("autoscaler", "Apply") not in managers  # it owned only replicas, which the scale took over
    # applying kubectl's own image again now conflicts with the editor
    cfg["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25"
    p = lab.kubectl(*ssa, input=yaml.safe_dump(cfg), check=False)
    assert p.returncode != 0 and 'conflict with "kubectl-edit" using apps/v1' in p.stderr
    assert '.spec.template.spec.containers[name="web"].image' in p.stderr
    lab.kubectl("delete", "deploy", "ssa1")


class LineReader:
    """Collects a process's stdout lines on a thread; `until` waits (bounded) for needles."""

    def __init__(self, proc):
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.q.put(l) for l in proc.stdout], daemon=True).start()

    def until(self, needles, limit=60.0):
        seen, lines = set(), []
        end = time.monotonic() + limit
        while len(seen) < len(needles) and time.monotonic() < end:
            try:
                line = self.q.get(timeout=0.5)
            except queue.Empty:
                continue
            lines.append(line)
            seen |= {n for n in needles if n in line}
        return lines, seen


def test_get_watch_streams_changes(lab):
    lab.apply(_pod("w0"))
    proc = subprocess.Popen(["kubectl", "--cache-dir", str(lab.dir / "cache"), "get", "pods", "-w",
                             "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=lab.env)
    try:
        reader = LineReader(proc)
        first, seen = reader.until(["w0"])
        assert seen == {"w0"}
        lab.apply(_pod("w1"))
        lab.kubectl("label", "pod", "w1", "k=v")
        lab.kubectl("delete", "pod", "w1")
        lines, _ = reader.until(["DELETED"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    events = [l.split()[:2] for l in lines if "w1" in l]
    assert ["ADDED", "w1"] in events and ["MODIFIED", "w1"] in events and ["DELETED", "w1"] in events
    assert sum(1 for l in first + lines if l.split()[:2] == ["ADDED", "w0"]) == 1  # no duplicate from the list
    lab.kubectl("delete", "pod", "w0")


def test_graceful_pod_deletion_and_binding(lab):
    from kubernetes import client
    lab.apply(_pod("g1"))
    api = _pyclient(lab)
    api.create_namespaced_pod_binding("g1", "default", {"apiVersion": "v1", "kind": "Binding",
                                                        "metadata": {"name": "g1"},
                                                        "target": {"kind": "Node", "name": "node-1"}},
                                      _preload_content=False)
    assert lab.json("get", "pod", "g1")["spec"]["nodeName"] == "node-1"
    with pytest.raises(client.ApiException) as e:
        api.create_namespaced_pod_binding("g1", "default", {"apiVersion": "v1", "kind": "Binding",
                                                            "metadata": {"name": "g1"},
                                                            "target": {"kind": "Node", "name": "node-2"}},
                                          _preload_content=False)
    assert e.value.status == 409
    lab.kubectl("delete", "pod", "g1", "--wait=false")
    pod = lab.json("get", "pod", "g1")
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "Terminating" in lab.kubectl("get", "pod", "g1").stdout
    lab.kubectl("delete", "pod", "g1", "--grace-period=0", "--force")
    assert lab.kubectl("get", "pod", "g1", check=False).returncode == 1


def test_get_componentstatuses(lab):
    p = lab.kubectl("get", "cs")
    assert "etcd-0" in p.stdout and "Healthy" in p.stdout


def test_dry_run_server_changes_nothing(lab):
    out = lab.kubectl("create", "-f", "-", "--dry-run=server", input=yaml.safe_dump(_pod("dry"))).stdout
    assert "created (server dry run)" in out
    assert lab.kubectl("get", "pod", "dry", check=False).returncode == 1


# -- the official Python client ------------------------------------------------------------
def _pyclient(lab):
    from kubernetes import client, config
    cfg = client.Configuration()
    config.load_kube_config(config_file=lab.kubeconfig, client_configuration=cfg)
    return client.CoreV1Api(client.ApiClient(cfg))


def test_python_client_server_side_apply(lab):
    from kubernetes.client.rest import ApiException
    api = _pyclient(lab)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pyssa"}, "data": {"a": "1", "b": "2"}}
    ssa = {"_content_type": "application/apply-patch+yaml"}
    api.patch_namespaced_config_map("pyssa", "default", cm, field_manager="op-a", **ssa)
    got = api.patch_namespaced_config_map("pyssa", "default", {**cm, "data": {"a": "1"}}, field_manager="op-a", **ssa)
    assert got.data == {"a": "1"}  # b is no longer applied by its only manager
    [entry] = got.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.fields_v1) == ("op-a", "Apply", {"f:data": {".": {}, "f:a": {}}})
    with pytest.raises(ApiException) as e:
        api.patch_namespaced_config_map("pyssa", "default", {**cm, "data": {"a": "9"}}, field_manager="op-b", **ssa)
    assert e.value.status == 409
    assert json.loads(e.value.body)["message"] == 'Apply failed with 1 conflict: conflict with "op-a": .data.a'
    got = api.patch_namespaced_config_map("pyssa", "default", {**cm, "data": {"a": "9"}}, field_manager="op-b",
                                          force=True, **ssa)
    assert got.data == {"a": "9"}
    owned = {m.manager: m.fields_v1 for m in got.metadata.managed_fields}
    assert owned["op-b"] == {"f:data": {".": {}, "f:a": {}}} and owned["op-a"] == {"f:data": {}}  # a kept the map
    api.delete_namespaced_config_map("pyssa", "default")


def test_python_client_list_create_patch_watch_delete(lab):
    from kubernetes import watch
    api = _pyclient(lab)
    start = api.list_namespaced_pod("default")
    assert start.items is not None and start.metadata.resource_version
    api.create_namespaced_pod("default", _pod("py1"))
    p = api.patch_namespaced_pod("py1", "default", {"metadata": {"labels": {"stage": "2"}}})
    assert p.metadata.labels["stage"] == "2"
    api.delete_namespaced_pod("py1", "default")
    got = []
    for ev in watch.Watch().stream(api.list_namespaced_pod, "default",
                                   resource_version=start.metadata.resource_version, timeout_seconds=5):
        if ev["object"].metadata.name == "py1":
            got.append(ev["type"])
        if got and got[-1] == "DELETED":
            break
    assert got == ["ADDED", "MODIFIED", "DELETED"]
    labelled = api.list_namespaced_pod("default", label_selector="stage=2")
    assert labelled.items == []


def test_python_client_watch_too_old_is_410(lab):
    from kubernetes import client, watch
    api = _pyclient(lab)
    old = api.list_namespaced_config_map("default").metadata.resource_version
    for i in range(45):  # more writes than watch_history (40)
        api.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}, "data": {"i": str(i)}})
    with pytest.raises(client.ApiException) as e:
        for _ in watch.Watch().stream(api.list_namespaced_config_map, "default", resource_version=old,
                                      timeout_seconds=5):
            pass
    assert e.value.status == 410
    for i in range(45):
        api.delete_namespaced_config_map(f"c{i}", "default")


def test_more_kinds_with_kubectl_create(lab):
    lab.kubectl("create", "job", "j1", "--image=busybox", "--", "echo", "hi")
    lab.kubectl("create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--", "echo", "hi")
    lab.kubectl("create", "role", "r1", "--verb=get", "--resource=pods")
    lab.kubectl("create", "rolebinding", "rb1", "--role=r1", "--user=bob")  # a protobuf body in 1.31
    lab.kubectl("create", "priorityclass", "high", "--value=1000")
    lab.kubectl("create", "quota", "q1", "--hard=pods=10")
    lab.kubectl("create", "serviceaccount", "sa1")
    lab.kubectl("create", "configmap", "cm1", "--from-literal=a=b")
    lab.kubectl("create", "secret", "generic", "s1", "--from-literal=a=b")
    lab.kubectl("create", "service", "clusterip", "svc1", "--tcp=80:8080")
    job = lab.json("get", "job", "j1")
    assert job["spec"]["template"]["metadata"]["labels"]["job-name"] == "j1"
    assert lab.json("get", "rolebinding", "rb1")["subjects"][0]["name"] == "bob"
    svc = lab.json("get", "svc", "svc1")
    assert svc["spec"]["clusterIP"].startswith("10.") and svc["spec"]["ports"][0]["targetPort"] == 8080
    assert lab.json("get", "secret", "s1")["data"] == {"a": "Yg=="}
    out = lab.kubectl("get", "all").stdout
    assert "job.batch/j1" in out and "cronjob.batch/cj1" in out and "service/svc1" in out
    assert lab.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    lab.kubectl("run", "prio", "--image=busybox", "--overrides", '{"spec":{"priorityClassName":"high"}}')
    assert lab.json("get", "pod", "prio")["spec"]["priority"] == 1000
    for args in (["job", "j1"], ["cronjob", "cj1"], ["role", "r1"], ["rolebinding", "rb1"], ["pc", "high"],
                 ["quota", "q1"], ["sa", "sa1"], ["cm", "cm1"], ["secret", "s1"], ["svc", "svc1"], ["pod", "prio"]):
        lab.kubectl("delete", *args)


def test_patch_service_type_allocates_and_releases_the_node_port(lab):
    lab.kubectl("create", "service", "clusterip", "web-np", "--tcp=80:8080")
    lab.kubectl("patch", "svc", "web-np", "-p", '{"spec":{"type":"NodePort"}}')
    port = lab.json("get", "svc", "web-np")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    taken = lab.kubectl("create", "service", "nodeport", "web-np2", "--tcp=80:8080", f"--node-port={port}", check=False)
    assert taken.returncode != 0
    assert f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated" in taken.stderr
    lab.kubectl("patch", "svc", "web-np", "-p", '{"spec":{"type":"ClusterIP"}}')
    assert "nodePort" not in lab.json("get", "svc", "web-np")["spec"]["ports"][0]
    lab.kubectl("create", "service", "nodeport", "web-np2", "--tcp=80:8080", f"--node-port={port}")
    assert lab.json("get", "svc", "web-np2")["spec"]["ports"][0]["nodePort"] == port
    lab.kubectl("delete", "svc", "web-np", "web-np2")


def test_logs_through_the_kubelet_api(lab):
    kubelet = FakeKubelet(lab.dir)
    try:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fake-node"},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}}}}
        lab.kubectl("create", "-f", "-", input=yaml.safe_dump(node))
        lab.apply(_pod("ex", nodeName="fake-node"))
        lab.kubectl("patch", "pod", "ex", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running"}}')
        assert lab.kubectl("logs", "ex").stdout == "hi 0\n"
        assert lab.kubectl("logs", "-f", "ex").stdout == "hi 0\nhi 1\nhi 2\n"
        lab.kubectl("delete", "pod", "ex", "--grace-period=0", "--force")
        lab.kubectl("delete", "node", "fake-node")
    finally:
        kubelet.stop()


def test_custom_resources_with_kubectl(lab):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                  "additionalPrinterColumns": [
                                      {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                      {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "required": ["size"], "properties": {
                                          "size": {"type": "integer", "minimum": 1},
                                          "color": {"type": "string", "default": "red"}}},
                                      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
    lab.apply(crd)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
    assert "widget.example.com/w1 created" in lab.apply(widget).stdout
    rows = lab.kubectl("get", "widgets").stdout.splitlines()
    assert rows[0].split() == ["NAME", "SIZE", "AGE"] and rows[1].split()[:2] == ["w1", "3"]
    assert lab.json("get", "wd", "w1")["spec"] == {"size": 3, "color": "red"}
    bad = lab.kubectl("apply", "-f", "-", input=yaml.safe_dump({**widget, "spec": {"size": 0}}), check=False)
    assert bad.returncode == 1 and "spec.size: Invalid value: 0" in bad.stderr
    lab.kubectl("patch", "wd", "w1", "--subresource=status", "--type=merge", "-p", '{"status":{"ready":true}}')
    assert lab.json("get", "wd", "w1")["status"] == {"ready": True}
    lab.kubectl("delete", "crd", "widgets.example.com")
    gone = lab.kubectl("get", "widgets", check=False)
    assert gone.returncode == 1
