"""A throwaway local control plane for tests and benchmarks (no root): a CA with a
127.0.0.1 serving cert and an admin client cert, then the real apiserver, scheduler and
controller-manager (`python -m labkube.<component>`) on 127.0.0.1, each logging to a file
in the cluster's directory. Hollow nodes are added with `start_hollow()`.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_pki(d: str) -> dict:
    """Write ca.crt, server.crt/key (SAN 127.0.0.1, localhost), client.crt/key into d."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test-ca")).issuer_name(_name("test-ca"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(cn, org=None, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(ca.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=1))
             .not_valid_after(now + datetime.timedelta(days=1)))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(ca_key, hashes.SHA256()), key

    srv, srv_key = leaf("server", san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                       x509.DNSName("localhost")])
    cli, cli_key = leaf("kubernetes-admin", "system:masters")
    files = {"ca.crt": ca.public_bytes(serialization.Encoding.PEM),
             "server.crt": srv.public_bytes(serialization.Encoding.PEM), "server.key": _pem_key(srv_key),
             "client.crt": cli.public_bytes(serialization.Encoding.PEM), "client.key": _pem_key(cli_key)}
    for n, data in files.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)
    return {n: os.path.join(d, n) for n in files}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """apiserver (+ scheduler + controller-manager) as local processes; `start()`, `stop()`.

    apiserver_cfg / controllers_cfg are merged into the generated configs (e.g.
    `{"storage": {..., "fsync": False}}`, `{"controllers": [...]}`)."""

    def __init__(self, d, apiserver_cfg: dict | None = None, controllers_cfg: dict | None = None,
                 scheduler: bool = True, controllers: bool = True):
        self.d = str(d)
        self.apiserver_cfg = apiserver_cfg or {}
        self.controllers_cfg = controllers_cfg or {}
        self.with_scheduler, self.with_controllers = scheduler, controllers
        self.procs: dict[str, subprocess.Popen] = {}
        self.kubeconfig = os.path.join(self.d, "admin.kubeconfig")
        self.port = 0

    def _write(self, name: str, doc: dict) -> str:
        p = os.path.join(self.d, name)
        with open(p, "w") as f:
            yaml.safe_dump(doc, f)
        return p

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start `python <argv>` with output to <dir>/<name>.log."""
        with open(os.path.join(self.d, f"{name}.log"), "w") as log:
            p = subprocess.Popen([sys.executable, *argv], stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = p
        return p

    def log(self, name: str) -> str:
        with open(os.path.join(self.d, f"{name}.log")) as f:
            return f.read()

    def start(self, timeout: float = 30.0) -> "LocalCluster":
        pki = make_pki(self.d)
        self.port = free_port()
        storage = {"backend": "sqlite", "path": os.path.join(self.d, "registry.db"),
                   **(self.apiserver_cfg.get("storage") or {})}
        self.spawn("apiserver", ["-m", "labkube.apiserver", "--config", self._write("apiserver.yaml", {
            "bind_address": "127.0.0.1", "secure_port": self.port, "tls_cert_file": pki["server.crt"],
            "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
            "kubelet_client_certificate": pki["client.crt"], "kubelet_client_key": pki["client.key"],
            "kubelet_certificate_authority": pki["ca.crt"], **self.apiserver_cfg, "storage": storage})])
        self._write("admin.kubeconfig", {
            "apiVersion": "v1", "kind": "Config", "current-context": "lab",
            "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                     "certificate-authority": "ca.crt"}}],
            "users": [{"name": "admin", "user": {"client-certificate": "client.crt", "client-key": "client.key"}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}]})
        self.wait_ready(pki["ca.crt"], timeout)
        if self.with_scheduler:
            self.spawn("scheduler", ["-m", "labkube.scheduler", "--config", self._write(
                "scheduler.yaml", {"kubeconfig": self.kubeconfig, "scheduler_name": "default-scheduler"})])
        if self.with_controllers:
            self.spawn("controllers", ["-m", "labkube.controllers", "--config", self._write("controllers.yaml", {
                "kubeconfig": self.kubeconfig, "node_monitor_grace_period": 40, "pod_eviction_timeout": 300,
                "concurrent_syncs": 5, **self.controllers_cfg})])
        return self

    def wait_ready(self, cafile: str, timeout: float) -> None:
        ctx = ssl.create_default_context(cafile=cafile)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/readyz", context=ctx, timeout=2):
                    return
            except OSError:
                if self.procs["apiserver"].poll() is not None:
                    raise RuntimeError("apiserver exited: " + self.log("apiserver")) from None
                time.sleep(0.1)
        raise RuntimeError("apiserver never became ready: " + self.log("apiserver"))

    def start_hollow(self, nodes: int, *extra: str, name: str = "hollow") -> subprocess.Popen:
        """N hollow nodes in one process (`python -m labkube.kubelet.hollow`)."""
        return self.spawn(name, ["-m", "labkube.kubelet.hollow", "--kubeconfig", self.kubeconfig,
                                 "--nodes", str(nodes), *extra])

    def stop(self, timeout: float = 30.0) -> dict[str, int]:
        """SIGTERM everything (newest first); exit status per process."""
        for p in reversed(list(self.procs.values())):
            if p.poll() is None:
                p.terminate()
        rcs = {}
        for name, p in self.procs.items():
            try:
                rcs[name] = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                rcs[name] = p.wait()
        return rcs


class MemoryTLS:
    """A TLS client and server joined by memory BIOs (tests: handshakes without sockets).
    `handshake()` steps both sides in turn, handing each one's bytes to the other, until both are
    done; a failure raises the side's ssl.SSLError. `pump()` hands over what is pending."""

    def __init__(self, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str = "127.0.0.1"):
        self.s_in, self.s_out, self.c_in, self.c_out = (ssl.MemoryBIO() for _ in range(4))
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_hostname=server_hostname)

    def pump(self) -> None:
        if self.c_out.pending:
            self.s_in.write(self.c_out.read())
        if self.s_out.pending:
            self.c_in.write(self.s_out.read())

    def handshake(self, rounds: int = 10) -> "MemoryTLS":
        done = {"c": False, "s": False}
        for _ in range(rounds):
            for name, obj in (("c", self.client), ("s", self.server)):
                if not done[name]:
                    try:
                        obj.do_handshake()
                        done[name] = True
                    except ssl.SSLWantReadError:
                        pass
                self.pump()
            if done["s"] and done["c"]:
                break
        return self
