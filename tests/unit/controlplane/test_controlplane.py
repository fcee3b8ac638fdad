"""labkube.controlplane: the apiserver, controller-manager and scheduler in one process.

A bad config of any of the three stops it before anything starts (one line naming the file,
status 2); a good set serves the API, runs the controllers (a Deployment gets its ReplicaSet)
and the scheduler (a pod is bound to the one node) in the one process, and SIGTERM stops
all three with status 0."""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from labkube.testing import free_port, make_pki

PROG = [sys.executable, "-m", "labkube.controlplane"]


def write(d, name, doc) -> str:
    p = os.path.join(d, name)
    with open(p, "w") as f:
        yaml.safe_dump(doc, f)
    return p


@pytest.fixture
def configs(tmp_path):
    """The three config files of a control plane on 127.0.0.1 (as dicts and paths)."""
    d = str(tmp_path)
    pki = make_pki(d)
    port = free_port()
    api = {"bind_address": "127.0.0.1", "secure_port": port, "tls_cert_file": pki["server.crt"],
           "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
           "storage": {"backend": "sqlite", "path": os.path.join(d, "registry.db")}}
    kubeconfig = write(d, "admin.kubeconfig", {
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                 "certificate-authority": pki["ca.crt"]}}],
        "users": [{"name": "admin", "user": {"client-certificate": pki["client.crt"],
                                             "client-key": pki["client.key"]}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}]})
    ctrl = {"kubeconfig": kubeconfig, "controllers": ["replicaset", "deployment", "serviceaccount"]}
    sched = {"kubeconfig": kubeconfig, "scheduler_name": "default-scheduler"}
    return {"dir": d, "pki": pki, "port": port, "apiserver": api, "controllers": ctrl, "scheduler": sched}


def argv(c, **override) -> list[str]:
    docs = {k: override.get(k, c[k]) for k in ("apiserver", "controllers", "scheduler")}
    return PROG + [arg for k, doc in docs.items()
                   for arg in (f"--{k}-config", write(c["dir"], f"{k}.yaml", doc))]


BAD = [
    # (component whose config is bad, the config, words the one line has)
    ("apiserver", {"bind_address": "127.0.0.1"}, "apiserver.yaml: tls_cert_file is required"),
    ("controllers", {"kubeconfig": "/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig"),
    ("controllers", {"kubeconfig": "K", "controllers": ["nosuchcontroller"]}, "unknown controller"),
    ("scheduler", {"kubeconfig": "K", "tick": 1}, "scheduler.yaml: tick: unknown setting"),
    ("scheduler", {}, "scheduler.yaml: kubeconfig: required setting missing"),
]


@pytest.mark.parametrize("component,doc,words", BAD)
def test_a_bad_config_stops_it_before_anything_starts(configs, component, doc, words):
    doc = {k: (configs["controllers"]["kubeconfig"] if v == "K" else v) for k, v in doc.items()}
    p = subprocess.run(argv(configs, **{component: doc}), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labkube.controlplane: ") and words in lines[0]
    assert not os.path.exists(os.path.join(configs["dir"], "registry.db"))


def call(c, method, path, body=None):
    ctx = ssl.create_default_context(cafile=c["pki"]["ca.crt"])
    ctx.load_cert_chain(c["pki"]["client.crt"], c["pki"]["client.key"])
    req = urllib.request.Request(f"https://127.0.0.1:{c['port']}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def eventually(what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = what()
        except (OSError, urllib.error.URLError):
            got = None
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                   "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def test_one_process_serves_the_api_runs_the_controllers_and_schedules(configs):
    log = open(os.path.join(configs["dir"], "controlplane.log"), "w")
    proc = subprocess.Popen(argv(configs), stdout=log, stderr=subprocess.STDOUT)
    try:
        assert eventually(lambda: call(configs, "GET", "/version"))
        call(configs, "POST", "/api/v1/nodes", NODE)
        # the pod waits for the namespace's default ServiceAccount (the controllers make it)
        assert eventually(lambda: call(configs, "POST", "/api/v1/namespaces/default/pods", POD))
        call(configs, "POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT)
        assert eventually(lambda: call(configs, "GET", "/api/v1/namespaces/default/pods/p1")
                          ["spec"].get("nodeName")) == "n1"
        rs = eventually(lambda: call(configs, "GET", "/apis/apps/v1/namespaces/default/replicasets")["items"])
        assert [r["metadata"]["ownerReferences"][0]["name"] for r in rs] == ["web"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    with open(os.path.join(configs["dir"], "controlplane.log")) as f:
        text = f.read()
    for logger in ("labkube.apiserver", "labkube.controllers", "labkube.controlplane: stopped"):
        assert logger in text
