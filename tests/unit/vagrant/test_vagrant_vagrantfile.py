"""The top-level Vagrantfile reads the same inventory as labctl (run with a stub Vagrant)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STUB = Path(__file__).with_name("vagrantfile_stub.rb")

pytestmark = pytest.mark.skipif(not shutil.which("ruby"), reason="ruby is not installed")


def settings(inventory=None, **env):
    e = dict(os.environ, **env)
    e.pop("LABCTL_INVENTORY", None)
    if inventory:
        e["LABCTL_INVENTORY"] = str(inventory)
    out = subprocess.run(["ruby", str(STUB), str(ROOT / "Vagrantfile")], env=e, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_default_inventory_gives_one_master_two_workers():
    s = settings()
    assert s["config.vm.box"] == "labctl-debian12"
    # one vCPU each, the master too: on a 2-core host without KVM a second vCPU thread on
    # the master takes host CPU from the booting workers (inventories/vagrant/README.md)
    for name, ip, mem, cpus in [("m-k8s", "10.210.0.10", 1024, 1), ("w1-k8s", "10.210.0.11", 768, 1),
                                ("w2-k8s", "10.210.0.12", 768, 1)]:
        m = f"config.vm.define({name})"
        net = s[f"{m}.vm.network(private_network)"]
        assert net["ip"] == ip and net["netmask"] == "255.255.255.0"
        assert net["auto_config"] is False          # the provisioner configures eth1
        assert s[f"{m}.vm.provision(labctl)"]["args"][:2] == [name, f"{ip}/24"]
        assert s[f"{m}.vm.provider(libvirt).memory"] == mem
        assert s[f"{m}.vm.provider(libvirt).cpus"] == cpus


def test_networks_are_isolated():
    s = settings()
    assert s["config.vm.provider(libvirt).management_network_mode"] == "none"
    assert s["config.vm.provider(libvirt).management_network_name"] == "labctl-vagrant-mgmt"
    net = s["config.vm.define(w1-k8s).vm.network(private_network)"]
    assert net["libvirt__forward_mode"] == "none"
    assert net["libvirt__dhcp_enabled"] is False
    assert net["libvirt__network_name"] == "labctl-vagrant-net"


def test_qemu_driver_and_no_key_swap():
    s = settings()
    assert s["config.vm.provider(libvirt).driver"] == "qemu"
    assert s["config.vm.provider(libvirt).default_prefix"] == "labctl-vagrant-"
    assert s["config.ssh.insert_key"] is False
    assert s["config.vm.guest"] == "debian"


def test_provisioner_routes_other_nodes_pod_ranges():
    s = settings(LABCTL_SSH_PUBKEY="ssh-ed25519 AAAA lab")
    args = s["config.vm.define(m-k8s).vm.provision(labctl)"]["args"]
    assert args == ["m-k8s", "10.210.0.10/24", "ssh-ed25519 AAAA lab", "10.244.2.0/24", "10.210.0.11", "10.244.3.0/24", "10.210.0.12"]


def test_other_inventory_ranges_and_group_vars(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    masters:\n      hosts:\n        cp:\n          ansible_host: 10.9.0.10\n"
        "    workers:\n      hosts:\n        node[1:2]:\n")
    (tmp_path / "group_vars" / "all.yml").write_text("lab_name: tiny\nlab_subnet: 10.9.0.0/16\n"
                                                     "vagrant_memory: 512\n")
    (tmp_path / "host_vars" / "node1.yml").write_text("ansible_host: 10.9.0.11\nvagrant_memory: 600\n")
    (tmp_path / "host_vars" / "node2.yml").write_text("ansible_host: 10.9.0.12\n")
    s = settings(tmp_path)
    assert s["config.vm.define(node1).vm.provider(libvirt).memory"] == 600
    assert s["config.vm.define(node2).vm.provider(libvirt).memory"] == 512
    assert s["config.vm.define(node2).vm.network(private_network)"]["netmask"] == "255.255.0.0"
    assert s["config.vm.provider(libvirt).default_prefix"] == "labctl-tiny-"


def test_virtualbox_branch_uses_a_stock_box_linked_clones_and_the_same_sizes():
    s = settings()
    for name, mem, cpus in [("m-k8s", 1024, 1), ("w1-k8s", 768, 1)]:
        vb = f"config.vm.define({name}).vm.provider(virtualbox)"
        assert s[f"{vb}.override.vm.box"] == "debian/bookworm64"
        assert s[f"{vb}.name"] == f"labctl-vagrant-{name}"
        assert (s[f"{vb}.memory"], s[f"{vb}.cpus"]) == (mem, cpus)
        assert s[f"{vb}.linked_clone"] is True and s[f"{vb}.gui"] is False
        prep = s[f"{vb}.override.vm.provision(labctl-virtualbox)"]
        assert prep["type"] == "shell"
        assert "crun" in prep["inline"] and "/usr/local/lib/systemd/system" in prep["inline"]


def test_provisioner_finds_the_lab_nic_by_position_not_by_name(tmp_path):
    """eth1 in the libvirt box, enp0s8 in VirtualBox boxes: the second NIC with a device."""
    script = settings()["config.vm.define(m-k8s).vm.provision(labctl)"]["inline"]
    assert "eth1" not in script
    line = next(ln for ln in script.splitlines() if ln.strip().startswith("lab=$("))
    sysfs = tmp_path / "sys" / "class" / "net"
    for nic, has_device in [("lo", False), ("enp0s3", True), ("enp0s8", True), ("docker0", False)]:
        (sysfs / nic).mkdir(parents=True)
        if has_device:
            (sysfs / nic / "device").mkdir()
    found = subprocess.run(["sh", "-c", line.replace("/sys/class/net", str(sysfs)) + '; echo "$lab"'],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert found == "enp0s8"
