"""Shared fixtures: a kubelet on the fake runtime talking to the in-memory FakeApi."""
from __future__ import annotations

import asyncio
import socket

import pytest

from labkube.client.fake import FakeApi
from labkube.kubelet.config import KubeletConfig
from labkube.kubelet.kubelet import Kubelet
from labkube.kubelet.runtime.fake import FakeImages, FakeRuntime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def kcfg(tmp_path):
    return KubeletConfig(kubeconfig="/dev/null", node_name="w1", node_ip="10.200.0.11", pod_cidr="10.244.1.0/24",
                         root_dir=str(tmp_path / "kubelet"), image_dir=str(tmp_path / "images"), runtime="fake",
                         address="127.0.0.1", port=free_port(), node_status_update_frequency=0.2,
                         register_with_taints=[{"key": "dedicated", "value": "lab", "effect": "NoSchedule"}],
                         node_labels={"role": "worker"})


@pytest.fixture
async def kubelet(kcfg):
    api = FakeApi()
    kl = Kubelet(kcfg, client=api, runtime=FakeRuntime(kcfg), images=FakeImages())
    await kl.start()
    yield kl
    await kl.stop()


async def eventually(fn, tries: int = 1500, step: float = 0.02):
    """Poll ``fn`` (sync or async) until it returns a truthy value; returns it."""
    for _ in range(tries):
        v = fn()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        await asyncio.sleep(step)
    raise AssertionError(f"condition never became true: {fn}")


def pod(name: str, *, node: str = "w1", restart_policy: str = "Always", args=None, containers=None, **spec) -> dict:
    cs = containers or [{"name": "main", "image": "busybox", **({"args": args} if args else {})}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "restartPolicy": restart_policy, "containers": cs, **spec}}
