"""SSH timeouts from inventory variables: the TCP connect and, separately, opening a
session / starting the command helper (slow on emulated VMs)."""
import pytest

from labctl.connections import connect


@pytest.mark.parametrize("host_vars, connect_s, channel_s", [
    ({}, 10.0, 10.0),
    ({"ansible_timeout": 30}, 30.0, 30.0),
    ({"ansible_ssh_timeout": 5}, 5.0, 10.0),
    ({"ansible_timeout": 20, "labctl_ssh_channel_timeout": 120}, 20.0, 120.0),
    ({"labctl_ssh_channel_timeout": "90"}, 10.0, 90.0),
])
def test_connect_and_channel_timeouts_come_from_host_vars(host_vars, connect_s, channel_s):
    conn = connect({"inventory_hostname": "n1", "ansible_host": "10.200.0.9", **host_vars})
    assert (conn.connect_timeout, conn.channel_timeout) == (connect_s, channel_s)
