"""kubectl exec / cp / port-forward end to end without a lab: the real kubectl against the
apiserver (TLS, client certs) which proxies to the kubelet's streaming routes (served here
by a stub kubelet whose "containers" are local processes and whose pod address is
127.0.0.1). Needs kubectl (the dispatcher picks 1.31 from the server's version)."""
import asyncio
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import types
import urllib.request

import pytest
import yaml
from aiohttp import web
from apiserver_pki import make_pki
from terminal import on_a_terminal

from labkube.kubelet.streaming.routes import add_routes

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# stands in for `crun exec -t --console-socket PATH CMD...`: makes a terminal, sends its
# master to PATH, runs CMD on it and exits with its code
CONSOLE_HELPER = """
import os, pty, socket, subprocess, sys
master, slave = pty.openpty()
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
socket.send_fds(c, [b" "], [master])
c.close()
os.close(master)
p = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
os.close(slave)
sys.exit(p.wait())
"""


def _exec_argv(cid, cmd, tty, console_socket=None):
    return [sys.executable, "-c", CONSOLE_HELPER, console_socket, *cmd] if console_socket else list(cmd)


class StubKubelet:
    """The kubelet's streaming routes over mutual TLS; exec runs the command locally."""

    def __init__(self, d):
        running = types.SimpleNamespace(id="c1", state="running")
        sandbox = types.SimpleNamespace(ip="127.0.0.1", state="ready", host_network=False, pod_dir=str(d), netns="")
        worker = types.SimpleNamespace(namespace="default", name="p", sandbox=sandbox,
                                       current=lambda name: running if name == "c" else None)
        kl = types.SimpleNamespace(pods=types.SimpleNamespace(find=lambda ns, n: worker if n == "p" else None),
                                   runtime=types.SimpleNamespace(exec_argv=_exec_argv, exec_console_socket=True))
        app = web.Application()
        add_routes(app, kl)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(d / "ca.crt"))
        ctx.load_cert_chain(d / "kubelet.crt", d / "kubelet.key")
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    d = tmp_path_factory.mktemp("streaming")
    (d / "home").mkdir()
    make_pki(d, {"apiserver": ("kube-apiserver", [], True), "kubelet": ("stub-node", [], True),
                 "kubelet-client": ("kube-apiserver-kubelet-client", ["system:masters"], False),
                 "admin": ("kubernetes-admin", ["system:masters"], False)})
    port = _free_port()
    cfg = {"bind_address": "127.0.0.1", "secure_port": port, "tls_cert_file": str(d / "apiserver.crt"),
           "tls_private_key_file": str(d / "apiserver.key"), "client_ca_file": str(d / "ca.crt"),
           "storage": {"backend": "sqlite", "path": str(d / "registry.db")},
           "kubelet_client_certificate": str(d / "kubelet-client.crt"),
           "kubelet_client_key": str(d / "kubelet-client.key"), "kubelet_certificate_authority": str(d / "ca.crt")}
    (d / "apiserver.yaml").write_text(yaml.safe_dump(cfg))
    (d / "kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"https://127.0.0.1:{port}",
                                               "certificate-authority": str(d / "ca.crt")}}],
        "users": [{"name": "a", "user": {"client-certificate": str(d / "admin.crt"), "client-key": str(d / "admin.key")}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "a"}}]}))
    log = open(d / "apiserver.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "labkube.apiserver", "--config", str(d / "apiserver.yaml")],
                            stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    kubelet = StubKubelet(d)
    env = dict(os.environ, HOME=str(d / "home"), KUBECONFIG=str(d / "kubeconfig"))

    def kubectl(*args, check=True, input=None, timeout=60):
        p = subprocess.run(["kubectl", "--cache-dir", str(d / "cache"), *args], capture_output=True,
                           input=input, env=env, timeout=timeout)
        if check:
            assert p.returncode == 0, f"kubectl {args}: {p.stderr.decode()}"
        return p
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "stub-node"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}}}}
    kubectl("create", "-f", "-", input=json.dumps(node).encode())
    kubectl("create", "serviceaccount", "default")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"nodeName": "stub-node", "containers": [{"name": "c", "image": "busybox"}]}}
    kubectl("create", "-f", "-", input=json.dumps(pod).encode())
    kubectl("patch", "pod", "p", "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"phase": "Running", "containerStatuses": [{"name": "c", "state": {"running": {}}}]}}))
    yield types.SimpleNamespace(kubectl=kubectl, dir=d, env=env, kubelet_port=kubelet.port)
    kubelet.stop()
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_a_refused_exec_says_why_after_kubectls_spdy_fallback(lab):
    """The kubelet refuses a pod it does not run; kubectl then retries over SPDY, and the apiserver
    answers that retry with the kubelet's reason instead of "SPDY is not supported"."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
           "spec": {"nodeName": "stub-node", "containers": [{"name": "c", "image": "busybox"}]}}
    lab.kubectl("create", "-f", "-", input=json.dumps(pod).encode())
    try:
        lab.kubectl("patch", "pod", "q", "--subresource=status", "--type=merge", "-p", json.dumps(
            {"status": {"phase": "Running", "containerStatuses": [{"name": "c", "state": {"running": {}}}]}}))
        p = lab.kubectl("exec", "q", "--", "true", check=False)
        err = p.stderr.decode()
        assert p.returncode != 0
        assert 'unable to upgrade connection: pod "default/q" is not running on this node' in err, err
        assert "SPDY is not supported" not in err
    finally:
        lab.kubectl("delete", "pod", "q", "--grace-period=0", "--force", check=False)


def test_the_kubelet_runs_nothing_for_an_exec_that_is_no_upgrade(lab, tmp_path):
    """The apiserver asks the kubelet again without the upgrade to read why it refused a websocket
    (streaming._kubelet_says): such a request must be refused before anything runs."""
    import urllib.error
    marker = tmp_path / "ran"
    ctx = ssl.create_default_context(cafile=str(lab.dir / "ca.crt"))
    ctx.load_cert_chain(lab.dir / "kubelet-client.crt", lab.dir / "kubelet-client.key")
    ctx.check_hostname = False
    url = f"https://127.0.0.1:{lab.kubelet_port}/exec/default/p/c?command=touch&command={marker}&stdout=1"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, context=ctx, timeout=10)
    assert e.value.code == 400
    time.sleep(0.5)
    assert not marker.exists()
    lab.kubectl("exec", "p", "--", "touch", str(marker))      # the same command, upgraded, runs
    assert marker.exists()


def test_exec_output_and_exit_code(lab):
    p = lab.kubectl("exec", "p", "--", "sh", "-c", "echo out; echo err >&2")
    assert p.stdout == b"out\n" and p.stderr == b"err\n"
    p = lab.kubectl("exec", "p", "--", "sh", "-c", "exit 3", check=False)
    assert p.returncode == 3


def test_exec_stdin(lab):
    p = lab.kubectl("exec", "-i", "p", "--", "sh", "-c", "tr a-z A-Z", input=b"hello\n")
    assert p.stdout == b"HELLO\n"


def _run_in_terminal(lab, args, typed: bytes, cols=100, rows=33):
    """Run kubectl on a terminal of the given size, type ``typed``; (exit code, output)."""
    return on_a_terminal(["kubectl", "--cache-dir", str(lab.dir / "cache"), *args], typed, lab.env,
                         rows=rows, cols=cols)


def test_exec_interactive_tty(lab):
    """`kubectl exec -it` from a terminal: the command sees a terminal of the client's size
    (resize messages), and the exit code comes back."""
    rc, out = _run_in_terminal(lab, ["exec", "-it", "p", "--", "sh"],
                               b"sleep 1; test -t 0 && echo TTY$((6*7)); stty size; exit 4\n")
    assert rc == 4, out
    assert "TTY42" in out and "33 100" in out, out


def test_cp_to_and_from(lab, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("payload\n")
    dest = tmp_path / "copy"
    dest.mkdir()
    lab.kubectl("cp", str(src), f"p:{dest}/remote.txt")
    assert (dest / "remote.txt").read_text() == "payload\n"
    back = tmp_path / "back.txt"
    lab.kubectl("cp", f"p:{dest}/remote.txt", str(back))
    assert back.read_text() == "payload\n"


def _port_forward_check(lab, kubectl_cmd):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello from the pod\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    local = _free_port()
    pf = subprocess.Popen([*kubectl_cmd, "port-forward", "pod/p", f"{local}:{srv.server_address[1]}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lab.env)
    try:
        assert b"Forwarding from" in pf.stdout.readline()
        for _ in range(2):          # two connections over the one tunnel
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=20) as r:
                assert r.read() == b"hello from the pod\n"
    finally:
        pf.terminate()
        pf.wait(timeout=10)
        srv.shutdown()


def test_port_forward_reaches_the_pod_port(lab):
    _port_forward_check(lab, ["kubectl", "--cache-dir", str(lab.dir / "cache")])


@pytest.mark.parametrize("version", ["1.31", "1.32", "1.33"])
def test_exec_and_port_forward_with_each_kubectl(lab, version):
    """The binaries behind the dispatcher, called directly: same websocket protocols."""
    binary = shutil.which(f"kubectl.{version}") or f"/usr/lib/google-cloud-sdk/bin/kubectl.{version}"
    if not os.path.exists(binary):
        pytest.skip(f"kubectl {version} not installed")
    p = subprocess.run([binary, "exec", "p", "--", "sh", "-c", "echo v; exit 7"], capture_output=True, env=lab.env,
                       timeout=60)
    assert p.returncode == 7 and p.stdout == b"v\n", p.stderr
    _port_forward_check(lab, [binary])
