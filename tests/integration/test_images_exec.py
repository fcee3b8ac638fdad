"""Images and streaming on a real netns lab: the lab registry serves the lab images and user
images (`labctl image build`), the kubelet pulls from it and reports ImagePullBackOff with
the registry's reason, and kubectl exec / cp / port-forward reach real crun containers.
One lab for the module (`labctl up` once); traffic only to loopback and lab addresses."""
import json
import os
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from labtools import kubectl, labctl, wait_for
from terminal import on_a_terminal


def pod(env, name):
    p = kubectl("get", "pod", name, "-o", "json", env=env, check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def running(env, name):
    def probe():
        p = pod(env, name)
        return p if p and p["status"].get("phase") == "Running" and p["status"].get("podIP") else None
    return wait_for(f"pod {name} Running", probe)


def test_registry_holds_the_lab_images(lab):
    ls = labctl("image", "ls", env=lab)
    assert ls.returncode == 0, ls.stderr
    assert re.search(r"^busybox:latest\s+sha256:", ls.stdout, re.M), ls.stdout
    assert re.search(r"^nginx:latest\s+sha256:", ls.stdout, re.M), ls.stdout


def test_nginx_serves_its_page_to_a_busybox_pod(lab):
    kubectl("run", "web", "--image=docker.io/library/nginx", env=lab)
    ip = running(lab, "web")["status"]["podIP"]
    kubectl("run", "client", "--image=busybox:latest", "--restart=Never", "--",
            "sh", "-c", f"wget -qO- http://{ip}/", env=lab)
    wait_for("the client's log", lambda: "Welcome to nginx" in kubectl("logs", "client", env=lab, check=False).stdout)


def test_exec_and_exit_code(lab):
    kubectl("run", "sh1", "--image=busybox", "--", "sleep", "3600", env=lab)
    running(lab, "sh1")
    assert kubectl("exec", "sh1", "--", "cat", "/etc/hostname", env=lab).stdout.strip() == "sh1"
    assert kubectl("exec", "sh1", "--", "sh", "-c", "exit 3", env=lab, check=False).returncode == 3
    out = kubectl("exec", "-i", "sh1", "--", "sh", "-c", "tr a-z A-Z", env=lab, input="lab\n").stdout
    assert out == "LAB\n"


def test_cp_both_ways(lab, tmp_path):
    running(lab, "sh1")
    src = tmp_path / "note.txt"
    src.write_text("copied in\n")
    kubectl("cp", str(src), "sh1:/tmp/note.txt", env=lab)
    assert kubectl("exec", "sh1", "--", "cat", "/tmp/note.txt", env=lab).stdout == "copied in\n"
    back = tmp_path / "back.txt"
    kubectl("cp", "sh1:/tmp/note.txt", str(back), env=lab)
    assert back.read_text() == "copied in\n"


def test_port_forward_to_nginx(lab):
    running(lab, "web")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pf = subprocess.Popen(["kubectl", "port-forward", "pod/web", f"{port}:80"], env=lab,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"Forwarding from 127.0.0.1" in pf.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert b"Welcome to nginx" in r.read()
    finally:
        pf.terminate()
        pf.wait(timeout=10)


def test_built_image_runs(lab, tmp_path):
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "busybox").write_bytes(Path("/bin/busybox").read_bytes())
    os.chmod(root / "bin" / "busybox", 0o755)
    (root / "msg").write_text("built by labctl\n")
    b = labctl("image", "build", str(root), "-t", "hello-lab:1", "--cmd", "/bin/busybox cat /msg", env=lab)
    assert b.returncode == 0, b.stderr
    assert "localhost" not in b.stdout and "/library/hello-lab:1" in b.stdout
    again = labctl("image", "build", str(root), "-t", "hello-lab:1", "--cmd", "/bin/busybox cat /msg", env=lab)
    assert again.returncode == 0 and again.stdout.startswith("unchanged"), again.stdout + again.stderr
    kubectl("run", "built", "--image=hello-lab:1", "--restart=Never", env=lab)
    wait_for("the built image's output", lambda: "built by labctl" in kubectl("logs", "built", env=lab,
                                                                                  check=False).stdout)


def test_missing_image_backs_off_with_the_registry_reason(lab):
    kubectl("run", "ghost", "--image=no-such-image:1", env=lab)

    def waiting():
        p = pod(lab, "ghost")
        st = (p or {}).get("status", {}).get("containerStatuses") or []
        w = (st[0].get("state") or {}).get("waiting") if st else None
        return w if w and w.get("reason") == "ImagePullBackOff" else None
    wait_for("ImagePullBackOff", waiting)
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=ghost", "-o", "json", env=lab).stdout
    assert "manifest unknown" in events


def test_attach_follows_the_output(lab):
    kubectl("run", "ticker", "--image=busybox", "--", "sh", "-c",
            "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done", env=lab)
    running(lab, "ticker")
    proc = subprocess.Popen(["kubectl", "attach", "ticker"], env=lab, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().startswith(b"tick ")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_interactive_exec_on_a_terminal(lab):
    """`kubectl exec -it` on a 100x33 terminal: a shell in the container with that size."""
    running(lab, "sh1")
    rc, out = on_a_terminal(["kubectl", "exec", "-it", "sh1", "--", "sh"], b"sleep 1; tty; stty size; exit 5\n",
                            lab, rows=33, cols=100)
    assert rc == 5, out
    assert "/dev/pts/" in out and "33 100" in out, out
