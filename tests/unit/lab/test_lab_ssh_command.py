"""`labctl ssh`'s command line: root at the node's address with the lab key, and the
inventory's SSH connect timeout (the VM lab's is long: sshd in an emulated VM on a busy
host was seen to take more than 5 s for its banner)."""
from pathlib import Path

import pytest

from labctl.lab import Lab

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("inventory, node, address, timeout", [
    ("local", "w1-k8s", "10.200.0.11", "5"),        # no ansible_timeout: 5 s
    ("vagrant", "w1-k8s", "10.210.0.11", "60"),     # group_vars: ansible_timeout: 60
])
def test_ssh_command_uses_the_inventory_connect_timeout(tmp_path, inventory, node, address, timeout):
    lab = Lab(ROOT / "inventories" / inventory, state_dir=str(tmp_path))
    (tmp_path / "ssh").mkdir()
    (tmp_path / "ssh" / "id_ed25519").write_text("key")
    cmd = lab.ssh_command(node, ["hostname"])
    assert cmd[0] == "ssh" and cmd[-2:] == [f"root@{address}", "hostname"]
    assert cmd[cmd.index("-i") + 1] == str(tmp_path / "ssh" / "id_ed25519")
    assert f"ConnectTimeout={timeout}" in cmd
