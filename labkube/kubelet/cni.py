"""Pod networking through the standard CNI plugins, called in process (we play libcni).

The node's network is a conflist (bridge `cni0` with host-local IPAM over the node's
pod_cidr and a per-node dataDir, then portmap) plus a separate loopback network. Plugins
are run one by one: ADD in order, each getting the previous result as `prevResult`
(portmap only when the pod has host ports);
DEL in reverse order with the cached final ADD result and the same portMappings
(portmap's DEL does nothing without them). Results are cached per sandbox under
`<root_dir>/cni/cache/<id>.json`.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os

from .proc import base_env, run

log = logging.getLogger(__name__)
CNI_VERSION = "1.0.0"
NETWORK = "podnet"


class CniError(Exception):
    pass


def pod_network(pod_cidr: str, data_dir: str, bridge: str = "cni0") -> dict:
    """The node's conflist."""
    net = ipaddress.ip_network(pod_cidr)
    gateway = str(next(net.hosts()))
    return {"cniVersion": CNI_VERSION, "name": NETWORK, "plugins": [
        {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False, "hairpinMode": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": str(net), "gateway": gateway}]],
                  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": data_dir}},
        {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
    ]}


def loopback_network() -> dict:
    return {"cniVersion": CNI_VERSION, "name": "lo", "plugins": [{"type": "loopback"}]}


def plugin_config(netconf: dict, plugin: dict, prev_result: dict | None, runtime_config: dict) -> dict:
    """The stdin of one plugin invocation."""
    conf = dict(plugin)
    conf["cniVersion"] = netconf["cniVersion"]
    conf["name"] = netconf["name"]
    if prev_result is not None:
        conf["prevResult"] = prev_result
    caps = plugin.get("capabilities") or {}
    rc = {k: v for k, v in runtime_config.items() if caps.get(k)}
    if rc:
        conf["runtimeConfig"] = rc
    return conf


def result_ips(result: dict) -> list[str]:
    """Pod IPs (without prefix length) from an ADD result."""
    return [ip["address"].split("/")[0] for ip in (result or {}).get("ips", [])]


def _skippable(plugin: dict, runtime_config: dict) -> bool:
    """portmap with no mappings does nothing (and its DEL returns early): do not exec it."""
    caps = plugin.get("capabilities") or {}
    return bool(caps.get("portMappings")) and not runtime_config.get("portMappings")


class Cni:
    def __init__(self, bin_dir: str, root_dir: str, pod_cidr: str):
        self.bin_dir = bin_dir
        self.data_dir = os.path.join(root_dir, "cni", "networks")
        self.cache_dir = os.path.join(root_dir, "cni", "cache")
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(self.cache_dir, exist_ok=True)
        self.networks = [("lo", loopback_network()), ("eth0", pod_network(pod_cidr, self.data_dir))]

    async def _exec(self, command: str, plugin_type: str, conf: dict, container_id: str,
                    netns: str, ifname: str) -> dict:
        binary = os.path.join(self.bin_dir, plugin_type)
        if not os.path.exists(binary):
            raise CniError(f"CNI plugin {binary} is missing (install containernetworking-plugins)")
        env = base_env()
        env.update(CNI_COMMAND=command, CNI_CONTAINERID=container_id, CNI_NETNS=netns,
                   CNI_IFNAME=ifname, CNI_PATH=self.bin_dir)
        r = await run([binary], stdin=json.dumps(conf).encode(), env=env, timeout=60)
        out = r.stdout.decode(errors="replace").strip()
        if r.rc != 0:
            try:
                err = json.loads(out)
                msg = f"{err.get('msg')}" + (f": {err['details']}" if err.get("details") else "")
            except ValueError:
                msg = out or r.err
            raise CniError(f"CNI {plugin_type} {command} failed: {msg}")
        return json.loads(out) if out else {}

    def _cache_path(self, container_id: str) -> str:
        return os.path.join(self.cache_dir, f"{container_id}.json")

    async def add(self, container_id: str, netns: str, port_mappings: list | None = None) -> dict:
        """Attach the netns to lo and the pod network; returns the pod network's result."""
        rt = {"portMappings": list(port_mappings or [])}
        cache = {"netns": netns, "runtimeConfig": rt, "results": {}}
        final = {}
        for ifname, net in self.networks:
            prev = None
            for plugin in net["plugins"]:
                if _skippable(plugin, rt):
                    continue
                prev = await self._exec("ADD", plugin["type"], plugin_config(net, plugin, prev, rt),
                                        container_id, netns, ifname)
            cache["results"][ifname] = prev
            final = prev
            with open(self._cache_path(container_id), "w") as f:
                json.dump(cache, f)
        return final

    async def delete(self, container_id: str, netns: str) -> None:
        """Detach (reverse order, cached results + mappings); errors are logged, not raised,
        except when the pod network's DEL fails (its IP would leak)."""
        try:
            with open(self._cache_path(container_id)) as f:
                cache = json.load(f)
        except (OSError, ValueError):
            cache = {"runtimeConfig": {"portMappings": []}, "results": {}}
        rt = cache.get("runtimeConfig") or {}
        if not os.path.exists(netns):
            netns = ""            # plugins still release IPAM and host-side state
        for ifname, net in reversed(self.networks):
            prev = cache["results"].get(ifname)
            for plugin in reversed(net["plugins"]):
                if _skippable(plugin, rt):
                    continue
                try:
                    await self._exec("DEL", plugin["type"], plugin_config(net, plugin, prev, rt),
                                     container_id, netns, ifname)
                except CniError as e:
                    if ifname == "eth0" and plugin["type"] == "bridge":
                        raise
                    log.warning("%s", e)
        try:
            os.unlink(self._cache_path(container_id))
        except FileNotFoundError:
            pass
