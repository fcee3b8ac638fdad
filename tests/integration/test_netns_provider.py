"""The netns provider on its own: nodes boot with their own sshd and supervisor, and go away."""
import json
import subprocess

import pytest

from labctl.providers.base import NodeSpec, ProviderError
from labctl.providers.netns import NetnsProvider, network

SUBNET = "10.200.0.0/24"


def ssh(key, address, command, stdin=None):
    return subprocess.run(["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"root@{address}", command],
                          input=stdin, capture_output=True, text=True, timeout=30)


@pytest.fixture
def provider(tmp_path):
    p = NetnsProvider(tmp_path / "state", subnet=SUBNET)
    NetnsProvider(tmp_path / "stale").destroy()   # nothing left from an earlier run
    yield p
    p.destroy()


def test_nodes_boot_reachable_and_are_removed_completely(provider, tmp_path):
    eps = provider.create([NodeSpec("pa", "10.200.0.10", vars={"pod_cidr": "10.244.1.0/24"}),
                           NodeSpec("pb", "10.200.0.11", vars={"pod_cidr": "10.244.2.0/24"})])
    assert [e.host for e in eps] == ["10.200.0.10", "10.200.0.11"]
    key = eps[0].private_key_file
    out = ssh(key, "10.200.0.11", "hostname; ip route; cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "pb"
    assert any(l.startswith("10.244.1.0/24 via 10.200.0.10") for l in lines)
    assert not any(l.startswith("default") for l in lines), "nodes must have no default route"
    assert "labctl.providers.netns.supervisor" in lines[-1]
    assert [s.state for s in provider.status()] == ["running", "running"]

    # a second create is a no-op that keeps the same node processes
    pids = [s.pid for s in provider.status()]
    provider.create([NodeSpec("pa", "10.200.0.10", vars={"pod_cidr": "10.244.1.0/24"}),
                     NodeSpec("pb", "10.200.0.11", vars={"pod_cidr": "10.244.2.0/24"})])
    assert [s.pid for s in provider.status()] == pids

    provider.destroy()
    assert network.namespaces() == []
    assert not network.host_link_present()
    assert not (tmp_path / "state").exists()
    assert subprocess.run(["pgrep", "-f", "labctl.providers.netns.supervisor"]).returncode == 1
    routes = subprocess.run(["ip", "route", "get", "10.200.0.11"], capture_output=True, text=True)
    assert routes.returncode != 0, "lab addresses must be unreachable while the lab is down"


def test_services_follow_their_unit_and_restart_policy(provider):
    eps = provider.create([NodeSpec("pa", "10.200.0.10")])
    key, node = eps[0].private_key_file, "10.200.0.10"
    unit = "[Service]\nExecStart=/bin/sh -c 'echo started; exec sleep 300'\nRestart=always\nRestartSec=0.2\n"
    assert ssh(key, node, "cat > /etc/labkube/units/demo.service", stdin=unit).returncode == 0
    started = json.loads(ssh(key, node, "/run/labnode/bin/labnode-svc start demo").stdout)
    assert started["active"] and started["pid"]
    ssh(key, node, f"kill -9 {started['pid']}; sleep 1")
    again = json.loads(ssh(key, node, "/run/labnode/bin/labnode-svc status demo").stdout)
    assert again["active"] and again["pid"] != started["pid"] and again["restarts"] == 1
    stopped = json.loads(ssh(key, node, "/run/labnode/bin/labnode-svc stop demo").stdout)
    assert not stopped["active"]
    missing = ssh(key, node, "/run/labnode/bin/labnode-svc start nosuch")
    assert missing.returncode == 4 and "nosuch.service not found" in missing.stderr
    assert "started" in ssh(key, node, "cat /var/log/labkube/demo.log").stdout


def test_an_occupied_address_range_is_refused_with_one_line(provider):
    subprocess.run(["ip", "link", "add", "lktest-dummy", "type", "veth", "peer", "name", "lktest-peer"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.200.0.99/24", "dev", "lktest-dummy"], check=True)
        with pytest.raises(ProviderError, match="already used by lktest-dummy") as err:
            provider.create([NodeSpec("pa", "10.200.0.10")])
        assert "\n" not in str(err.value)
    finally:
        subprocess.run(["ip", "link", "del", "lktest-dummy"])


def test_a_second_lab_does_not_take_over_a_running_one(provider, tmp_path):
    provider.create([NodeSpec("pa", "10.200.0.10")])
    other = NetnsProvider(tmp_path / "other", subnet=SUBNET)
    with pytest.raises(ProviderError, match="another lab .* is up on this machine") as err:
        other.create([NodeSpec("pa", "10.200.0.10")])
    assert str(provider.state_dir) in str(err.value)
    assert [s.state for s in provider.status()] == ["running"]
