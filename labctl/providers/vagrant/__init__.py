"""The vagrant provider: lab nodes as Vagrant VMs (libvirt, QEMU with or without KVM).

labctl drives the top-level Vagrantfile through python-vagrant, pointing it at the lab's
inventory (LABCTL_INVENTORY) and keeping Vagrant's machine state in the lab state dir
(VAGRANT_DOTFILE_PATH). `create` builds the box when missing, brings all VMs up in
parallel (vagrant-libvirt's default), and returns an SSH endpoint per VM: root at its
static lab address with the lab key (on libvirt the Vagrantfile puts both on the VM's
kernel command line and the box applies them at boot, so `create` returns as soon as
every VM answers there, while `vagrant up` finishes in the background; VirtualBox VMs
get them from a provisioner).
`destroy` runs `vagrant destroy -f`, then removes whatever libvirt objects remain.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from ..base import Endpoint, NodeSpec, NodeStatus, Provider, ProviderError
from . import libvirt
from .env import DEFAULT_BOX, host_problem, vagrant_env
from .background import BackgroundUp
from .ssh import lab_key, request_poweroff, wait_ssh, wait_ssh_all

STATES = {"running": "running", "poweroff": "stopped", "shutoff": "stopped", "saved": "stopped",
          "paused": "stopped", "not_created": "missing", "not created": "missing"}


class VagrantProvider(Provider):
    name = "vagrant"

    def __init__(self, state_dir: Path, inventory: Path, lab: str, subnet: str = "10.210.0.0/24",
                 box: str = DEFAULT_BOX, project_root: Path | None = None,
                 mgmt_subnet: str = "10.211.0.0/24", vagrant_provider: str = "libvirt"):
        self.kind = vagrant_provider              # libvirt (built here) or virtualbox (laptops)
        self.state_dir = Path(state_dir)
        self.inventory = Path(inventory).resolve()
        self.lab = lab
        self.subnet = subnet
        self.guarded = [subnet, mgmt_subnet]
        self.box = box
        if project_root is None:
            from ...artifacts import project_root as root
            project_root = root()
        self.root = Path(project_root)
        self.state_file = self.state_dir / "vagrant.json"
        self.log_file = self.state_dir / "vagrant.log"

    # ---- Vagrant -----------------------------------------------------------------
    def env(self) -> dict:
        key = self.state_dir / "ssh" / "id_ed25519.pub"
        return vagrant_env({
            "LABCTL_INVENTORY": str(self.inventory),
            "VAGRANT_DOTFILE_PATH": str(self.state_dir / "vagrant"),
            "LABCTL_STORAGE_POOL": libvirt.pool_name(self.lab),
            "LABCTL_SSH_PUBKEY": key.read_text().strip() if key.exists() else "",
            "LABCTL_CONSOLE_DIR": str(self.state_dir / "console"),
            "VAGRANT_DEFAULT_PROVIDER": self.kind,
        })

    def vagrant(self):
        import vagrant
        (self.state_dir / "console").mkdir(parents=True, exist_ok=True)
        log = vagrant.make_file_cm(str(self.log_file))
        return vagrant.Vagrant(root=str(self.root), env=self.env(), out_cm=log, err_cm=log)

    def _call(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except subprocess.CalledProcessError:
            raise ProviderError(f"vagrant {what} failed: {self._log_tail()} (full log: {self.log_file})")

    def _log_tail(self) -> str:
        try:
            lines = [ln.strip() for ln in self.log_file.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no output"
        errors = [ln for ln in lines if "rror" in ln]
        return (errors or lines or ["no output"])[-1][:300]

    # ---- state -------------------------------------------------------------------
    def _load(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"nodes": {}, "created_pool": False}

    def _save(self, state: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    # ---- create ------------------------------------------------------------------
    def create(self, nodes: list[NodeSpec]) -> list[Endpoint]:
        libvirt_host = self.kind == "libvirt"
        problem = host_problem(libvirt_host)
        if problem:
            raise ProviderError(problem)
        if libvirt_host:                         # labctl builds libvirt boxes only
            from ...box import ensure_box
            from ...errors import LabError
            try:
                ensure_box(self.box, log=lambda line: None)
            except LabError as exc:
                raise ProviderError(str(exc))
        state = self._load()
        state["nodes"] = {n.name: n.address for n in nodes}
        key = lab_key(self.state_dir)
        if libvirt_host:
            state["created_pool"] |= libvirt.ensure_pool(self.lab, self.state_dir / "images")
        self._save(state)
        v = self.vagrant()
        libvirt.guard_routes(self.guarded, on=False)
        if libvirt_host:
            self._up_until_ssh(v, nodes, key)
        else:                                    # VirtualBox: root's key comes from a provisioner
            try:
                self._call("up", v.up)
            except ProviderError:
                self.destroy()                   # a half-made lab helps nobody
                raise
            finally:
                libvirt.guard_routes(self.guarded, on=True)
            wait_ssh_all([(n.name, n.address) for n in nodes], key)
        return [Endpoint(n.name, n.address, 22, "root", str(key)) for n in nodes]

    def _up_until_ssh(self, v, nodes: list[NodeSpec], key: Path) -> None:
        """libvirt: `vagrant up` in the background (background.py says why), returning
        as soon as every VM takes root's lab key on its lab address. A `vagrant up` that
        fails before that fails the creation, and the lab is removed."""
        up = BackgroundUp(lambda: self._call("up", v.up))
        try:
            wait_ssh_all([(n.name, n.address) for n in nodes], key, give_up=up.failure)
        except ProviderError:
            up.join()                            # no destroy while Vagrant still works on the VMs
            libvirt.guard_routes(self.guarded, on=True)
            self.destroy()                       # a half-made lab helps nobody
            raise
        libvirt.guard_routes(self.guarded, on=True)   # the lab's bridges and routes exist now
        up.report_late_failure()

    # ---- inspect -----------------------------------------------------------------
    def status(self) -> list[NodeStatus]:
        state = self._load()
        if not state["nodes"]:
            return []
        found = {s.name: s.state for s in self._call("status", self.vagrant().status)}
        return [NodeStatus(name, addr, STATES.get(found.get(name, "not_created"), "missing"))
                for name, addr in state["nodes"].items()]

    def endpoints(self) -> list[Endpoint]:
        key = str(self.state_dir / "ssh" / "id_ed25519")
        return [Endpoint(n, a, 22, "root", key) for n, a in self._load()["nodes"].items()]

    # ---- stop / start one node ---------------------------------------------------
    def _node(self, name: str) -> str:
        nodes = self._load()["nodes"]
        if name not in nodes:
            raise ProviderError(f"no node named {name} in this lab (is it up?)")
        return nodes[name]

    def stop_node(self, name: str) -> str:
        """Halt one VM; on libvirt by labctl's own SSH and libvirt (libvirt.shut_down says
        why not `vagrant halt`): "graceful", or "forced" when it did not power off in time."""
        address = self._node(name)
        if self.kind != "libvirt":
            self._call("halt", self.vagrant().halt, vm_name=name)
            return "graceful"
        key = self.state_dir / "ssh" / "id_ed25519"
        return libvirt.shut_down(libvirt.prefix(self.lab) + name, lambda: request_poweroff(address, key))

    def start_node(self, name: str) -> None:
        address = self._node(name)
        if self.kind == "libvirt":
            libvirt.ensure_pool(self.lab, self.state_dir / "images")   # QEMU must still reach the disk
        self._call("up", self.vagrant().up, vm_name=name)
        wait_ssh(name, address, self.state_dir / "ssh" / "id_ed25519")

    # ---- destroy -----------------------------------------------------------------
    def destroy(self) -> list[str]:
        removed = []
        if (self.state_dir / "vagrant").exists():
            t = time.monotonic()
            if self.kind == "libvirt":
                libvirt.power_off(self.lab)
            try:
                self._call("destroy", self.vagrant().destroy)
                removed.append(f"vagrant destroy -f ({time.monotonic() - t:.0f} s)")
            except ProviderError as exc:
                removed.append(f"{exc}; removing with virsh")
        if self.kind == "libvirt":
            removed += libvirt.remove_leftovers(self.lab)
        libvirt.guard_routes(self.guarded, on=True)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
            removed.append(f"removed {self.state_dir}")
        return removed
