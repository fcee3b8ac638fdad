"""The runtime interface the pod workers use, in the spirit of the CRI.

A pod is a *sandbox* (network namespace with an IP, hosts/resolv.conf files) plus
containers created in it. Runtimes keep their own state on disk so that a restarted
kubelet finds what is running (`list_sandboxes`, `list_containers`) without stopping it.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field


class RuntimeError_(Exception):
    """A runtime operation failed; `reason` is what Kubernetes would show (e.g. StartError)."""

    def __init__(self, message: str, reason: str = "RunContainerError"):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class SandboxConfig:
    uid: str
    name: str
    namespace: str
    hostname: str
    pod_dir: str                           # <root_dir>/pods/<uid>
    nameservers: list = field(default_factory=list)
    searches: list = field(default_factory=list)
    dns_options: list = field(default_factory=list)
    host_aliases: list = field(default_factory=list)   # [{"ip":..., "hostnames": [...]}]
    port_mappings: list = field(default_factory=list)  # [{"hostPort","containerPort","protocol"}]
    cgroup_parent: str = ""
    host_network: bool = False
    host_ip: str = ""


@dataclass
class Sandbox:
    id: str
    uid: str
    name: str
    namespace: str
    netns: str = ""                        # path, e.g. /run/netns/lk-...
    ips: list = field(default_factory=list)
    created_at: float = 0.0
    state: str = "ready"                   # ready | notready
    pod_dir: str = ""
    hostname: str = ""
    port_mappings: list = field(default_factory=list)
    cgroup_parent: str = ""
    host_network: bool = False

    @property
    def ip(self) -> str:
        return self.ips[0] if self.ips else ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ContainerConfig:
    name: str
    pod_uid: str
    image_ref: str                         # normalised reference
    image_id: str                          # repo@digest
    rootfs: str                            # unpacked image rootfs (overlay lowerdir)
    args: list
    env: list                              # ["K=V", ...]
    working_dir: str = "/"
    mounts: list = field(default_factory=list)   # [{"destination","source","readonly"}]
    log_path: str = ""
    restart_count: int = 0
    stop_signal: str = "SIGTERM"
    memory_limit: int | None = None
    cpu_quota: int | None = None           # microseconds per 100 ms period
    cpu_shares: int | None = None
    user: tuple = (0, 0)
    tty: bool = False
    stdin: bool = False                    # keep the container's stdin open for attach
    stdin_once: bool = False               # ... until the first attached client closes it
    readonly_rootfs: bool = False
    capabilities: list | None = None       # None: the runtime's defaults (Docker's 14)
    privileged: bool = False
    no_new_privileges: bool = False
    pid_namespace: str = ""                # join this PID namespace (/proc/<pid>/ns/pid): an ephemeral
                                           # container's targetContainerName
    host_pid: bool = False                 # the pod's hostPID / hostIPC: the node's namespaces
    host_ipc: bool = False


@dataclass
class ContainerStatus:
    id: str
    name: str
    pod_uid: str
    state: str                              # created | running | exited | unknown
    restart_count: int = 0
    image_ref: str = ""
    image_id: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    log_path: str = ""
    pid: int = 0
    sandbox_id: str = ""


class Runtime(abc.ABC):
    """What the kubelet needs from a container runtime. All methods are coroutines."""

    name = "base"

    async def start(self) -> None:
        """Prepare (state dirs, subreaper, re-attach to running containers)."""

    async def close(self) -> None:
        """Release resources; running containers keep running."""

    @abc.abstractmethod
    async def version(self) -> str: ...

    @abc.abstractmethod
    async def run_pod_sandbox(self, cfg: SandboxConfig) -> Sandbox: ...

    @abc.abstractmethod
    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Tear the network down (CNI DEL, netns delete). Idempotent."""

    @abc.abstractmethod
    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    @abc.abstractmethod
    async def list_sandboxes(self) -> list[Sandbox]: ...

    @abc.abstractmethod
    async def create_container(self, sandbox: Sandbox, cfg: ContainerConfig) -> str: ...

    @abc.abstractmethod
    async def start_container(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def stop_container(self, container_id: str, timeout: float, signal: str | None = None) -> None:
        """Send the stop signal, wait up to ``timeout`` seconds, then KILL. Idempotent."""

    @abc.abstractmethod
    async def remove_container(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def container_status(self, container_id: str) -> ContainerStatus | None: ...

    @abc.abstractmethod
    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerStatus]: ...

    async def wait_container(self, container_id: str, timeout: float | None = None) -> ContainerStatus | None:
        """Wait until the container has exited (or timeout); returns its status."""
        raise NotImplementedError

    async def exec_sync(self, container_id: str, cmd: list, timeout: float) -> tuple[int, bytes]:
        raise RuntimeError_("exec is not supported by this runtime")

    exec_console_socket = False    # True: exec_argv(..., console_socket=PATH) sends the terminal there

    def exec_argv(self, container_id: str, cmd: list, tty: bool, console_socket: str | None = None) -> list:
        """The helper command line that runs ``cmd`` in the container with our stdio passed
        through (a terminal on stdio when ``tty``): what interactive exec starts."""
        raise RuntimeError_("interactive exec is not supported by this runtime")
