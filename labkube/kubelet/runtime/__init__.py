"""Container runtimes behind one interface (runtime/base.py): crun (real) and fake (hollow nodes)."""
from .base import (ContainerConfig, ContainerStatus, Runtime, RuntimeError_, Sandbox,
                   SandboxConfig)

__all__ = ["ContainerConfig", "ContainerStatus", "Runtime", "RuntimeError_", "Sandbox", "SandboxConfig"]


def make_runtime(cfg, images):
    """The runtime named by the kubelet config (``crun`` or ``fake``)."""
    if cfg.runtime == "fake":
        from .fake import FakeRuntime
        return FakeRuntime(cfg)
    from .crun import CrunRuntime
    return CrunRuntime(cfg)
