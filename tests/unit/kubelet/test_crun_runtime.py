"""The crun runtime's bookkeeping that needs neither root nor crun."""
from __future__ import annotations

import os

import pytest

from labkube.kubelet.runtime.base import ContainerConfig, RuntimeError_, Sandbox
from labkube.kubelet.runtime.crun import CrunRuntime, signal_number


def test_signal_numbers():
    assert signal_number("SIGQUIT") == 3 and signal_number("TERM") == 15 and signal_number(None) == 15
    assert signal_number("SIGBOGUS") == 15


async def test_failed_create_leaves_nothing(kcfg):
    rt = CrunRuntime(kcfg, state_root=os.path.join(kcfg.root_dir, "crun-state"))
    sb = Sandbox(id="s" * 64, uid="u", name="p", namespace="d", pod_dir=os.path.join(kcfg.root_dir, "pods", "u"))
    cfg = ContainerConfig(name="c", pod_uid="u", image_ref="r", image_id="i", rootfs="/nonexistent/rootfs",
                          args=["sh"], env=[], log_path=os.path.join(sb.pod_dir, "logs/c/0.log"))
    with pytest.raises(RuntimeError_) as e:
        await rt.create_container(sb, cfg)
    assert e.value.reason == "CreateContainerError"
    assert os.listdir(os.path.join(kcfg.root_dir, "containers")) == [] and not rt.containers


@pytest.mark.parametrize("extra, tty, sock, want", [
    ({"cwd": "/app"}, False, None, ["exec", "--cwd", "/app", "ID", "pwd"]),
    ({"cwd": "/"}, True, None, ["exec", "-t", "--cwd", "/", "ID", "pwd"]),
    ({"cwd": "/work"}, True, "/run/s.sock", ["exec", "-t", "--console-socket", "/run/s.sock", "--cwd", "/work", "ID", "pwd"]),
    ({}, False, None, ["exec", "ID", "pwd"]),         # a container from before the kubelet kept its cwd
])
def test_an_exec_starts_in_the_containers_working_directory(kcfg, extra, tty, sock, want):
    rt = CrunRuntime(kcfg, state_root=os.path.join(kcfg.root_dir, "crun-state"))
    rt.extra["ID"] = extra
    argv = rt.exec_argv("ID", ["pwd"], tty=tty, console_socket=sock)
    assert argv[argv.index("exec"):] == want
