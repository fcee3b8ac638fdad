"""CNI configuration and plugin invocation (with stand-in plugin scripts, no root)."""
from __future__ import annotations

import json
import os
import stat

from labkube.kubelet.cni import Cni, plugin_config, pod_network, result_ips


def test_pod_network_conflist():
    net = pod_network("10.244.1.0/24", "/var/lib/labkube/kubelet/cni/networks")
    bridge, portmap = net["plugins"]
    assert net["cniVersion"] == "1.0.0"
    assert bridge["type"] == "bridge" and bridge["isGateway"] and bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}]]
    assert bridge["ipam"]["dataDir"] == "/var/lib/labkube/kubelet/cni/networks"
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def test_plugin_config_passes_capabilities_only_to_capable_plugins():
    net = pod_network("10.244.1.0/24", "/d")
    rt = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    b = plugin_config(net, net["plugins"][0], None, rt)
    p = plugin_config(net, net["plugins"][1], {"ips": []}, rt)
    assert "runtimeConfig" not in b and "prevResult" not in b and b["name"] == "podnet"
    assert p["runtimeConfig"] == rt and p["prevResult"] == {"ips": []}


FAKE_PLUGIN = """#!/bin/sh
# stand-in CNI plugin: log the call (command, ifname, id, plugin, stdin) and answer like a plugin
conf=$(cat)
echo "$CNI_COMMAND $CNI_IFNAME $CNI_CONTAINERID $(basename "$0") $conf" >> {log}
if [ "$CNI_COMMAND" = ADD ] && [ "$CNI_IFNAME" = eth0 ]; then
  echo '{{"cniVersion":"1.0.0","ips":[{{"address":"10.244.1.7/24","gateway":"10.244.1.1"}}]}}'
else
  echo '{{"cniVersion":"1.0.0"}}'
fi
"""


async def test_add_and_del_order_and_cache(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    for name in ("loopback", "bridge", "portmap"):
        p = bindir / name
        p.write_text(FAKE_PLUGIN.format(log=str(log)))
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    cni = Cni(str(bindir), str(tmp_path / "root"), "10.244.1.0/24")
    maps = [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    res = await cni.add("cid1", "/run/netns/x", maps)
    assert result_ips(res) == ["10.244.1.7"]
    cache = json.loads((tmp_path / "root/cni/cache/cid1.json").read_text())
    assert result_ips(cache["results"]["eth0"]) == ["10.244.1.7"]
    assert cache["runtimeConfig"]["portMappings"] == maps
    await cni.delete("cid1", "/run/netns/x")
    calls = [ln.split(" ", 4)[:4] for ln in log.read_text().splitlines()]
    assert [(c[0], c[1], c[3]) for c in calls] == [
        ("ADD", "lo", "loopback"), ("ADD", "eth0", "bridge"), ("ADD", "eth0", "portmap"),
        ("DEL", "eth0", "portmap"), ("DEL", "eth0", "bridge"), ("DEL", "lo", "loopback")]
    dels = [ln for ln in log.read_text().splitlines() if ln.startswith("DEL eth0") and "portmap" in ln]
    assert '"hostPort": 8080' in dels[0]            # portmap DEL gets the mappings again
    assert '"prevResult"' in dels[0]                # ... and the cached ADD result
    assert not os.path.exists(tmp_path / "root/cni/cache/cid1.json")
    log.write_text("")
    await cni.add("cid2", "/run/netns/y", [])                # no host ports: portmap is not run
    await cni.delete("cid2", "/run/netns/y")
    assert [ln.split(" ")[3] for ln in log.read_text().splitlines()] == ["loopback", "bridge", "bridge", "loopback"]
