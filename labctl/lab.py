"""A lab: an inventory, the machines a provider made for it, and the cluster on them.

This is the library behind `labctl up/down/status/ssh/kubeconfig/smoke`: each CLI
subcommand is a few lines that call one method here.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from .errors import ConfigError, LabError
from .progress import Progress
from .providers.base import NodeSpec, Provider, ProviderError

DEFAULT_INVENTORY = "inventories/local"
STATE_ROOT = Path("/var/lib/labctl")


# the node's services: the netns supervisor's JSON list, else one "NAME STATE" line per
# labkube unit from systemd (VMs)
SERVICES_COMMAND = ("if [ -x /run/labnode/bin/labnode-svc ]; then /run/labnode/bin/labnode-svc list; "
                    "else for u in /etc/labkube/units/*.service; do [ -e \"$u\" ] || continue; "
                    "n=$(basename \"$u\" .service); echo \"$n $(systemctl is-active \"$n\")\"; done; fi")


def parse_services(text: str) -> list[dict]:
    """Services from either output of SERVICES_COMMAND, as {"name", "active"} dicts."""
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)
    out = []
    for line in text.splitlines():
        name, _, state = line.partition(" ")
        out.append({"name": name, "active": state.strip() == "active", "state": state.strip()})
    return out


class Lab:
    def __init__(self, inventory: str | os.PathLike = DEFAULT_INVENTORY, state_dir: str | None = None):
        path = Path(inventory)
        if not path.exists() and not path.is_absolute():
            # the default inventories live in the source checkout labctl runs from
            checkout = Path(__file__).resolve().parents[1] / path
            if checkout.exists():
                path = checkout
        self.inventory_path = path
        self._inventory = None
        self._state_dir = Path(state_dir) if state_dir else None

    # ---- configuration ---------------------------------------------------------
    @property
    def inventory(self):
        if self._inventory is None:
            from .inventory import InventoryError, load_inventory
            if not self.inventory_path.exists():
                raise ConfigError(f"{self.inventory_path}: no such inventory (pass -i DIR)")
            try:
                self._inventory = load_inventory(self.inventory_path)
            except InventoryError as exc:
                raise ConfigError(str(exc))
        return self._inventory

    def hosts(self) -> list[str]:
        return self.inventory.match("all")

    def settings(self) -> dict:
        """Lab-wide settings: the vars every host shares (group_vars/all)."""
        hosts = self.hosts()
        if not hosts:
            raise ConfigError(f"{self.inventory_path}: the inventory has no hosts")
        return self.inventory.host_vars(hosts[0])

    @property
    def name(self) -> str:
        return str(self.settings().get("lab_name", self.inventory_path.name))

    @property
    def state_dir(self) -> Path:
        if self._state_dir is None:
            env = os.environ.get("LABCTL_STATE_DIR")
            self._state_dir = Path(env) if env else STATE_ROOT / self.name
        return self._state_dir

    def masters(self) -> list[str]:
        masters = self.inventory.match("masters") if "masters" in self.inventory.groups_dict() else []
        if len(masters) != 1:
            raise ConfigError(f"{self.inventory_path}: group 'masters' must hold exactly one host "
                              f"(found {len(masters)})")
        return masters

    def node_specs(self) -> list[NodeSpec]:
        specs = []
        for name in self.hosts():
            hv = self.inventory.host_vars(name)
            if "ansible_host" not in hv:
                raise ConfigError(f"{self.inventory_path}: host {name} has no ansible_host (its lab address)")
            specs.append(NodeSpec(name, str(hv["ansible_host"]), list(hv.get("group_names", [])), hv))
        return specs

    def provider(self) -> Provider:
        s = self.settings()
        kind = s.get("lab_provider", "netns")
        if kind == "netns":
            from .providers.netns import NetnsProvider
            ranges = [s.get("lab_subnet", "10.200.0.0/24"), s.get("pod_network_cidr", "10.244.0.0/16"),
                      s.get("service_cidr", "10.96.0.0/12")]
            return NetnsProvider(self.state_dir, subnet=ranges[0], guarded_ranges=ranges)
        if kind == "vagrant":
            from .providers.vagrant import VagrantProvider
            return VagrantProvider(self.state_dir, self.inventory_path, self.name,
                                   subnet=s.get("lab_subnet", "10.210.0.0/24"),
                                   box=s.get("vagrant_box", "labctl-debian12"),
                                   mgmt_subnet=s.get("vagrant_mgmt_subnet", "10.211.0.0/24"),
                                   vagrant_provider=s.get("vagrant_provider", "libvirt"))
        raise ConfigError(f"{self.inventory_path}: lab_provider {kind!r} is not supported "
                          f"(supported: netns, vagrant)")

    # ---- up / down -------------------------------------------------------------
    def playbook_vars(self, key_file: str | None = None, built: dict | None = None) -> dict:
        """The extra vars the lab's playbooks (site.yml, smoke.yml) get from labctl: the state
        directory, the wheelhouse, images and installer (rebuilt only when their sources
        changed; `built` when artifact_vars() already ran), the nodes' SSH key, and
        labctl's own Python (tasks delegated to the control machine run labkube with it)."""
        out = {"lab_state_dir": str(self.state_dir), "labctl_python": sys.executable,
               **(built or self.artifact_vars())}
        key = key_file or self.state_dir / "ssh" / "id_ed25519"
        if key_file or key.exists():
            out["ansible_ssh_private_key_file"] = str(key)
        return out

    @staticmethod
    def artifact_vars() -> dict:
        """What this machine builds for the nodes: the wheelhouse, the images, the installer."""
        from . import artifacts
        return {
            "labctl_wheelhouse": str(artifacts.wheelhouse()),
            "labctl_images_dir": str(artifacts.images()),
            "labctl_uv": str(artifacts.uv_binary()),
        }

    def up(self, progress: Progress | None = None, smoke: bool = True, json_events=None):
        """Create the nodes, deploy the cluster with site.yml, write the admin kubeconfig,
        then (unless smoke=False) run smoke.yml. Returns the site.yml result."""
        progress = progress or Progress()
        self.masters()
        specs = self.node_specs()
        provider = self.provider()
        # the wheelhouse, images and installer are built here while the nodes are created
        # (VMs take minutes to boot; wheeling a changed source tree takes many seconds)
        with ThreadPoolExecutor(1, thread_name_prefix="labctl-artifacts") as pool:
            built = pool.submit(self.artifact_vars)
            with progress.step(f"Creating {len(specs)} {provider.name} node(s)"):
                try:
                    endpoints = provider.create(specs)
                except ProviderError as exc:
                    raise LabError(str(exc))
            with progress.step("Building the wheelhouse and images"):
                extra = self.playbook_vars(endpoints[0].private_key_file, built.result())
        result = self.run_lab_playbook("site.yml", extra, "Deploying the cluster", progress, json_events)
        self.write_kubeconfig()
        if smoke:
            self.run_lab_playbook("smoke.yml", extra, "Smoke-testing the cluster", progress, json_events)
        return result

    def run_lab_playbook(self, name: str, extra: dict, title: str, progress: Progress | None = None,
                         json_events=None):
        """Run one of the lab's playbooks (site.yml, smoke.yml) against this inventory;
        LabError naming the hosts when it fails."""
        from . import artifacts
        from .engine import run_playbook
        progress = progress or Progress()
        with progress.step(f"{title} ({name})"):
            result = run_playbook(str(artifacts.project_root() / name), self.inventory, extra_vars=extra,
                                  callback=progress.engine_callback(json_events))
        if not result.ok:
            bad = [h for h, s in result.stats.items() if s["failed"] or s["unreachable"]]
            raise LabError(f"{name} failed on {', '.join(bad) or 'some hosts'}; see the task output above")
        return result

    def down(self) -> list[str]:
        try:
            return self.provider().destroy()
        except ProviderError as exc:
            raise LabError(str(exc))

    # ---- using the lab ---------------------------------------------------------
    def kubeconfig_path(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def write_kubeconfig(self) -> Path:
        """The admin kubeconfig on the control machine, self-contained (embedded certs)."""
        pki = self.state_dir / "pki"
        master = self.masters()[0]
        address = self.inventory.host_vars(master)["ansible_host"]
        port = self.settings().get("apiserver_port", 6443)
        b64 = lambda f: base64.b64encode((pki / f).read_bytes()).decode()
        context = f"kubernetes-admin@{self.name}"
        doc = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": self.name, "cluster": {
                "server": f"https://{address}:{port}", "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": "kubernetes-admin", "user": {
                "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")}}],
            "contexts": [{"name": context, "context": {"cluster": self.name, "user": "kubernetes-admin"}}],
            "current-context": context,
        }
        path = self.kubeconfig_path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        return path

    def require_up(self) -> None:
        if not self.kubeconfig_path().exists():
            raise LabError(f"lab {self.name!r} is not up (no {self.kubeconfig_path()}); run `labctl up`")

    def ssh_command(self, node: str, command: list[str]) -> list[str]:
        """The ssh command line that runs `command` on `node` (interactive when empty)."""
        if node not in self.hosts():
            raise ConfigError(f"no host named {node} in {self.inventory_path} "
                              f"(hosts: {', '.join(self.hosts())})")
        hv = self.inventory.host_vars(node)
        key = self.state_dir / "ssh" / "id_ed25519"
        if not key.exists():
            raise LabError(f"lab {self.name!r} is not up (no SSH key in {self.state_dir}); run `labctl up`")
        # the inventory's connect timeout, as the engine uses it (it also bounds sshd's
        # banner: an emulated VM on a busy host can take longer than 5 s to send it)
        timeout = int(float(hv.get("ansible_ssh_timeout") or hv.get("ansible_timeout") or 5))
        return ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", f"ConnectTimeout={timeout}", f"root@{hv['ansible_host']}", *command]

    def status(self) -> dict:
        """Nodes with their address and state, and the health of each node's services."""
        from .connections import connect
        nodes = []
        provider_status = {s.name: s for s in self.provider().status()}
        key = str(self.state_dir / "ssh" / "id_ed25519")
        for spec in self.node_specs():
            st = provider_status.get(spec.name)
            entry = {"name": spec.name, "address": spec.address, "groups": spec.groups,
                     "state": st.state if st else "missing", "services": []}
            if entry["state"] == "running":
                try:
                    with connect({"inventory_hostname": spec.name, "ansible_host": spec.address,
                                  "ansible_user": "root", "ansible_ssh_private_key_file": key}) as conn:
                        res = conn.run(SERVICES_COMMAND, timeout=20)
                        if res.rc == 0:
                            entry["services"] = parse_services(res.stdout)
                except Exception as exc:  # an unreachable node is a status, not a crash
                    entry["state"] = f"unreachable ({str(exc).splitlines()[0]})"
            nodes.append(entry)
        return {"lab": self.name, "state_dir": str(self.state_dir),
                "kubeconfig": str(self.kubeconfig_path()) if self.kubeconfig_path().exists() else None,
                "nodes": nodes}

    def smoke(self, timeout: float = 120):
        """Run the cluster smoke tests from the control machine."""
        import asyncio
        from labkube.smoke import run_smoke
        self.require_up()
        return asyncio.run(run_smoke(str(self.kubeconfig_path()), timeout=timeout,
                                     min_nodes=len(self.hosts())))
