"""The netns provider: lab nodes as network namespaces with their own sshd.

Each node is a network namespace on the lab bridge plus UTS, mount and PID namespaces
whose PID 1 is the node supervisor (see supervisor.py). Nodes start in a fraction of
a second; `destroy` removes namespaces, processes, links, mounts and the state directory.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..base import Endpoint, NodeSpec, NodeStatus, Provider, ProviderError
from . import network
from .sh import sh
from .sshd import lab_key, prepare_node

MOUNT_POINTS = ("/etc/labkube", "/var/lib/labkube", "/var/lib/labkube-volumes")
OWNER_FILE = Path("/run/labctl/netns-owner")   # the state dir of the lab that owns the namespaces
REQUIRED_TOOLS = ("ip", "unshare", "mount", "/usr/sbin/sshd", "ssh-keygen", "/usr/bin/python3")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _child_pid(pid: int) -> int | None:
    """PID 1 of the node: the child of `unshare --fork`."""
    for _ in range(100):
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        if kids:
            return int(kids[0])
        time.sleep(0.01)
    return None


def supervisor_pids() -> list[int]:
    """PID 1 of every netns node on this machine (whichever lab started it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"labctl.providers.netns.supervisor" in argv and argv[0] != b"unshare":
            pids.append(int(entry.name))
    return pids


class NetnsProvider(Provider):
    name = "netns"

    def __init__(self, state_dir: Path, subnet: str = "10.200.0.0/24",
                 guarded_ranges: list[str] | None = None):
        self.state_dir = Path(state_dir)
        self.subnet = subnet
        self.guarded = guarded_ranges or [subnet]
        self.state_file = self.state_dir / "netns.json"

    # ---- state -------------------------------------------------------------------
    def _load(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"subnet": self.subnet, "nodes": {}, "created_mount_points": []}

    def _save(self, state: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    # ---- create ------------------------------------------------------------------
    def preflight(self) -> None:
        if os.geteuid() != 0:
            raise ProviderError("the netns provider needs root (run labctl as root)")
        for tool in REQUIRED_TOOLS:
            if not shutil.which(tool):
                raise ProviderError(f"{tool} is missing: run `make up` (installs iproute2, "
                                    f"util-linux, openssh-server, python3)")

    def create(self, nodes: list[NodeSpec]) -> list[Endpoint]:
        self.preflight()
        net = ipaddress.ip_network(self.subnet)
        network.check_subnet_free(self.subnet)
        for n in nodes:
            if ipaddress.ip_address(n.address) not in net or n.address == str(next(net.hosts())):
                raise ProviderError(f"host {n.name}: ansible_host {n.address} is not a node address "
                                    f"in lab_subnet {self.subnet}")
        self._claim()
        state = self._load()
        state["subnet"] = self.subnet
        key = lab_key(self.state_dir)
        for mp in MOUNT_POINTS:
            if not os.path.isdir(mp):
                os.makedirs(mp)
                state["created_mount_points"].append(mp)
        self._save(state)
        network.guard_routes(self.guarded)
        network.create_bridge(self.subnet)
        for index, n in enumerate(nodes):
            node_dir = self.state_dir / "nodes" / n.name
            prepare_node(node_dir, n.name, n.address, key)
            network.create_node_link(n.name, index, n.address, net.prefixlen)
            entry = state["nodes"].setdefault(n.name, {})
            entry.update(address=n.address, index=index, pod_cidr=n.vars.get("pod_cidr"))
            if not _alive(entry.get("pid")):
                entry["pid"] = self._boot(n.name, node_dir)
            self._save(state)
        self._pod_routes(state)
        for n in nodes:
            self._wait_ssh(n.name, n.address, state["nodes"][n.name]["pid"])
        return [Endpoint(n.name, n.address, 22, "root", str(key)) for n in nodes]

    def _claim(self) -> None:
        """Refuse to build on namespaces that another lab (another state dir) owns."""
        owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else ""
        if owner and owner != str(self.state_dir) and Path(owner).exists() and network.namespaces():
            raise ProviderError(f"another lab (state {owner}) is up on this machine; "
                                f"remove it first: LABCTL_STATE_DIR={owner} labctl down")
        OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
        OWNER_FILE.write_text(str(self.state_dir))

    def _boot(self, name: str, node_dir: Path) -> int:
        logf = open(node_dir / "supervisor.log", "ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", network.node_netns(name), "unshare", "--uts", "--mount", "--pid",
             "--fork", "--mount-proc", sys.executable, "-m", "labctl.providers.netns.supervisor",
             "--node", name, "--root", str(node_dir)],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        pid = _child_pid(proc.pid)
        if pid is None:
            raise ProviderError(f"host {name}: the node did not start; see {node_dir}/supervisor.log")
        return pid

    def _pod_routes(self, state: dict) -> None:
        nodes = state["nodes"]
        for name in nodes:
            routes = {o["pod_cidr"]: o["address"] for other, o in nodes.items()
                      if other != name and o.get("pod_cidr")}
            network.add_pod_routes(name, routes)

    def _wait_ssh(self, name: str, address: str, pid: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise ProviderError(f"host {name}: the node exited while booting; "
                                    f"see {self.state_dir}/nodes/{name}/supervisor.log")
            try:
                with socket.create_connection((address, 22), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH"):
                        return
            except OSError:
                time.sleep(0.05)
        raise ProviderError(f"host {name}: sshd on {address}:22 did not answer within {timeout:.0f} s")

    # ---- inspect -----------------------------------------------------------------
    def status(self) -> list[NodeStatus]:
        state = self._load()
        present = set(network.namespaces())
        out = []
        for name, entry in state["nodes"].items():
            if network.node_netns(name) not in present:
                s = "missing"
            else:
                s = "running" if _alive(entry.get("pid")) else "stopped"
            out.append(NodeStatus(name, entry["address"], s, entry.get("pid") if s == "running" else None))
        return out

    def endpoints(self) -> list[Endpoint]:
        state = self._load()
        key = str(self.state_dir / "ssh" / "id_ed25519")
        return [Endpoint(n, e["address"], 22, "root", key) for n, e in state["nodes"].items()]

    # ---- stop / start one node ---------------------------------------------------
    def _kill(self, pids: list[int], grace: float = 10) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        while any(_alive(p) for p in pids):
            time.sleep(0.02)

    def stop_node(self, name: str) -> None:
        state = self._load()
        if name not in state["nodes"]:
            raise ProviderError(f"no node named {name} in this lab")
        self._kill([state["nodes"][name].get("pid") or 0])
        state["nodes"][name]["pid"] = None
        self._save(state)

    def start_node(self, name: str) -> None:
        state = self._load()
        entry = state["nodes"].get(name)
        if entry is None:
            raise ProviderError(f"no node named {name} in this lab")
        if not _alive(entry.get("pid")):
            entry["pid"] = self._boot(name, self.state_dir / "nodes" / name)
            self._save(state)
        self._wait_ssh(name, entry["address"], entry["pid"])

    # ---- destroy -----------------------------------------------------------------
    def destroy(self) -> list[str]:
        state = self._load()
        removed = []
        # every node of every lab goes, like the namespaces below: a lab whose state was
        # lost must not leave its node processes running
        pids = sorted(set(supervisor_pids()) | {e["pid"] for e in state["nodes"].values() if _alive(e.get("pid"))})
        self._kill(pids)
        if pids:
            removed.append(f"stopped {len(pids)} node(s)")
        namespaces = network.namespaces()
        network.delete_namespaces(namespaces)
        network.delete_host_link()
        removed += [f"deleted network namespace {ns}" for ns in namespaces]
        cleanup_cgroups()
        for mp in state.get("created_mount_points", []):
            try:
                os.rmdir(mp)
            except OSError:
                pass
        OWNER_FILE.unlink(missing_ok=True)
        try:
            OWNER_FILE.parent.rmdir()
        except OSError:
            pass
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
            removed.append(f"removed {self.state_dir}")
        return removed


def cleanup_cgroups(prefix: str = "labkube") -> None:
    """Remove cgroup directories the nodes' container runtime left in the host's tree."""
    root = Path("/sys/fs/cgroup")
    if not root.exists():
        return
    for ctrl in root.iterdir():
        try:
            tops = [d for d in ctrl.iterdir() if d.is_dir() and d.name.startswith(prefix)]
        except OSError:
            continue
        for top in tops:
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                try:
                    d.rmdir()
                except OSError:
                    pass
            try:
                top.rmdir()
            except OSError:
                pass
