"""The top-level Vagrantfile reads the same inventory as labctl (run with a stub Vagrant)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labctl.providers.vagrant import rootfs

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
        assert net["auto_config"] is False          # the box's labctl-node-setup configures eth1
        assert f"labctl.node={name} labctl.addr={ip}/24" in s[f"{m}.vm.provider(libvirt).cmd_line"]
        assert f"{m}.vm.provision(labctl)" not in s     # no provisioner on libvirt
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


def test_libvirt_vms_get_name_address_routes_and_key_on_the_kernel_command_line():
    s = settings(LABCTL_SSH_PUBKEY="ssh-ed25519 AAAA lab")
    line = s["config.vm.define(m-k8s).vm.provider(libvirt).cmd_line"]
    assert line == (rootfs.KERNEL_CMDLINE + " labctl.node=m-k8s labctl.addr=10.210.0.10/24"
                    " labctl.route=10.244.2.0/24,10.210.0.11 labctl.route=10.244.3.0/24,10.210.0.12"
                    " labctl.key=ssh-ed25519,AAAA")
    assert len(line) < 2048                         # the kernel's limit on x86
    assert "labctl.key" not in settings()["config.vm.define(m-k8s).vm.provider(libvirt).cmd_line"]


def test_the_box_applies_the_command_line_the_vagrantfile_gives(tmp_path):
    """The box's labctl-node-setup script, run on a stand-in root with the Vagrantfile's
    command line for w1-k8s: what the VirtualBox provisioner does, from /proc/cmdline."""
    line = settings(LABCTL_SSH_PUBKEY="ssh-ed25519 AAAALAB labctl-lab")[
        "config.vm.define(w1-k8s).vm.provider(libvirt).cmd_line"]
    root = tmp_path / "root"
    (root / "etc/systemd/network").mkdir(parents=True)
    (root / "home/vagrant/.ssh").mkdir(parents=True)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n")
    (root / "home/vagrant/.ssh/authorized_keys").write_text("ssh-rsa VAGRANT insecure\n")
    (tmp_path / "cmdline").write_text(line + "\n")
    script = tmp_path / "setup"
    script.write_text(rootfs.NODE_SETUP_SCRIPT)
    subprocess.run(["sh", str(script)], check=True, env=dict(
        os.environ, LABCTL_ROOT=str(root), LABCTL_CMDLINE=str(tmp_path / "cmdline")))
    assert (root / "etc/hostname").read_text() == "w1-k8s\n"
    assert "127.0.1.1\tw1-k8s" in (root / "etc/hosts").read_text()
    assert (root / "etc/systemd/network/50-labctl-lab.network").read_text() == (
        "[Match]\nName=eth1\n\n[Network]\nAddress=10.210.0.11/24\n"
        "\n[Route]\nDestination=10.244.1.0/24\nGateway=10.210.0.10\n"
        "\n[Route]\nDestination=10.244.3.0/24\nGateway=10.210.0.12\n")
    keys = root / "root/.ssh/authorized_keys"
    assert keys.read_text() == "ssh-rsa VAGRANT insecure\nssh-ed25519 AAAALAB\n"
    assert keys.stat().st_mode & 0o777 == 0o600


def test_the_box_setup_changes_nothing_without_labctl_node(tmp_path):
    (tmp_path / "cmdline").write_text(rootfs.KERNEL_CMDLINE + "\n")
    script = tmp_path / "setup"
    script.write_text(rootfs.NODE_SETUP_SCRIPT)
    subprocess.run(["sh", str(script)], check=True, env=dict(
        os.environ, LABCTL_ROOT=str(tmp_path / "missing"), LABCTL_CMDLINE=str(tmp_path / "cmdline")))
    assert not (tmp_path / "missing").exists()


def test_virtualbox_provisioner_routes_other_nodes_pod_ranges():
    s = settings(LABCTL_SSH_PUBKEY="ssh-ed25519 AAAA lab")
    args = s["config.vm.define(m-k8s).vm.provider(virtualbox).override.vm.provision(labctl)"]["args"]
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


def test_virtualbox_provisioner_finds_the_lab_nic_by_position_not_by_name(tmp_path):
    """enp0s8 or eth1 in VirtualBox boxes: the second NIC with a device."""
    script = settings()["config.vm.define(m-k8s).vm.provider(virtualbox).override.vm.provision(labctl)"]["inline"]
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
