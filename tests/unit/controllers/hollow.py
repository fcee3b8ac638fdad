"""Test helper: a whole labkube cluster as local processes on 127.0.0.1, no root needed.

apiserver + scheduler + controller-manager + one kubelet per node on the kubelet's "fake"
runtime (hollow nodes: pods get IPs and run, but write no logs). The first node is the
control plane (label + NoSchedule taint). Logs of every process are kept in the directory.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import yaml


def _load_pki():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "client", "pki.py")
    spec = importlib.util.spec_from_file_location("labkube_test_pki", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_pki


make_pki = _load_pki()
CP = "node-role.kubernetes.io/control-plane"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HollowCluster:
    def __init__(self, d, nodes=("m-k8s", "w1-k8s", "w2-k8s"), kubelets=True, controllers_cfg=None):
        self.d = str(d)
        self.nodes = nodes if kubelets else ()
        self.controllers_cfg = controllers_cfg or {}
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.kubeconfig = os.path.join(self.d, "admin.kubeconfig")

    def _write(self, name, doc) -> str:
        p = os.path.join(self.d, name)
        with open(p, "w") as f:
            yaml.safe_dump(doc, f)
        return p

    def _start(self, name, module, cfg):
        log = open(os.path.join(self.d, f"{name}.log"), "w")
        p = subprocess.Popen([sys.executable, "-m", module, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append((name, p))

    def log(self, name) -> str:
        with open(os.path.join(self.d, f"{name}.log")) as f:
            return f.read()

    def start(self) -> "HollowCluster":
        pki = make_pki(self.d)
        port = free_port()
        self._start("apiserver", "labkube.apiserver", self._write("apiserver.yaml", {
            "bind_address": "127.0.0.1", "secure_port": port, "tls_cert_file": pki["server.crt"],
            "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
            "storage": {"backend": "sqlite", "path": os.path.join(self.d, "registry.db")},
            "kubelet_client_certificate": pki["client.crt"], "kubelet_client_key": pki["client.key"],
            "kubelet_certificate_authority": pki["ca.crt"]}))
        self._write("admin.kubeconfig", {
            "apiVersion": "v1", "kind": "Config", "current-context": "lab",
            "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                     "certificate-authority": "ca.crt"}}],
            "users": [{"name": "admin", "user": {"client-certificate": "client.crt", "client-key": "client.key"}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}]})
        ctx = ssl.create_default_context(cafile=pki["ca.crt"])
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2):
                    break
            except OSError:
                if self.procs[0][1].poll() is not None:
                    raise RuntimeError("apiserver exited: " + self.log("apiserver"))
                time.sleep(0.1)
        else:
            raise RuntimeError("apiserver never became ready: " + self.log("apiserver"))
        self._start("scheduler", "labkube.scheduler",
                    self._write("scheduler.yaml", {"kubeconfig": self.kubeconfig, "scheduler_name": "default-scheduler"}))
        self._start("controllers", "labkube.controllers", self._write("controllers.yaml", {
            "kubeconfig": self.kubeconfig, "node_monitor_grace_period": 40, "pod_eviction_timeout": 300,
            "concurrent_syncs": 5, **self.controllers_cfg}))
        for i, name in enumerate(self.nodes):
            cfg = {"kubeconfig": self.kubeconfig, "node_name": name, "node_ip": "127.0.0.1",
                   "pod_cidr": f"10.244.{i + 1}.0/24", "root_dir": os.path.join(self.d, name, "kubelet"),
                   "image_dir": os.path.join(self.d, name, "images"), "runtime": "fake", "port": free_port(),
                   "address": "127.0.0.1", "tls_cert_file": pki["server.crt"],
                   "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
                   "node_status_update_frequency": 2}
            if i == 0:
                cfg["node_labels"] = {CP: ""}
                cfg["register_with_taints"] = [{"key": CP, "effect": "NoSchedule"}]
            self._start(f"kubelet-{name}", "labkube.kubelet", self._write(f"kubelet-{name}.yaml", cfg))
        return self

    def stop(self) -> dict[str, int]:
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        rcs = {}
        for name, p in self.procs:
            try:
                rcs[name] = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rcs[name] = p.wait()
        return rcs
