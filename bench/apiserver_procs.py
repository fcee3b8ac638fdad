"""Processes for bench/apiserver.py: a throwaway apiserver (own CA, SQLite in a tmp dir) and a
local etcd 3.4 as the reference, both on 127.0.0.1 only; stopped by the caller."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labctl import pki  # noqa: E402  (the lab's own certificate code, no openssl)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_ssl(d: Path) -> ssl.SSLContext:
    """What kubectl does: trust the lab CA, present the admin client certificate."""
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    ctx.load_cert_chain(str(d / "admin.crt"), str(d / "admin.key"))
    return ctx


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (noise-robust cost per request)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_http(url: str, ctx, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f} s ({url})")


class Apiserver:
    """`python -m labkube.apiserver` on 127.0.0.1:<free port>, durable SQLite (fsync on);
    `tree`: the source tree whose labkube runs (default: this checkout)."""

    def __init__(self, tmp: Path, tree: Path = ROOT):
        self.dir = tmp / "apiserver"
        self.pki = self.dir / "pki"
        pki.ensure(self.pki, [pki.CertSpec("apiserver", "kube-apiserver", server=True, client=False,
                                           dns_names=["localhost"], ip_addresses=["127.0.0.1"]),
                              pki.CertSpec("admin", "kubernetes-admin", ["system:masters"])])
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        cfg = self.dir / "apiserver.yaml"
        cfg.write_text(f"bind_address: 127.0.0.1\nsecure_port: {self.port}\n"
                       f"tls_cert_file: {self.pki}/apiserver.crt\ntls_private_key_file: {self.pki}/apiserver.key\n"
                       f"client_ca_file: {self.pki}/ca.crt\n"
                       f"storage: {{backend: sqlite, path: {self.dir}/registry.db}}\n")
        self.log = open(self.dir / "apiserver.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "labkube.apiserver", "--config", str(cfg)],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=str(tree))
        _wait_http(self.url + "/readyz", self.ssl(), self.proc, "apiserver")
        # the `default` ServiceAccount that the lab's ServiceAccount controller would make: pod
        # admission refuses pods whose ServiceAccount does not exist
        req = urllib.request.Request(self.url + "/api/v1/namespaces/default/serviceaccounts", method="POST",
                                     data=b'{"metadata": {"name": "default"}}',
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, context=self.ssl(), timeout=60).close()

    def ssl(self) -> ssl.SSLContext:
        return client_ssl(self.pki)

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def cpu_s(self) -> float:
        return cpu_s(self.proc.pid)

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


class Etcd:
    """Debian's etcd 3.4 on loopback in a tmp data dir; clients use its HTTP/JSON gateway."""

    def __init__(self, tmp: Path):
        binary = shutil.which("etcd")
        if not binary:
            raise RuntimeError("etcd not found: apt-get install etcd-server")
        self.dir = tmp / "etcd"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        purl = f"http://127.0.0.1:{peer}"
        self.log = open(self.dir / "etcd.log", "wb")
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH=os.environ.get("ETCD_UNSUPPORTED_ARCH", ""))
        self.proc = subprocess.Popen(
            [binary, "--name", "bench", "--data-dir", str(self.dir / "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
             "--initial-cluster", f"bench={purl}", "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        _wait_http(self.url + "/health", None, self.proc, "etcd")

    def cpu_s(self) -> float:
        return cpu_s(self.proc.pid)

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
