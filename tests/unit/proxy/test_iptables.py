"""The node-side helpers with the tools replaced: which commands run, and what their output means."""
from __future__ import annotations

import pytest

from labkube.proxy import iptables


@pytest.fixture
def calls(monkeypatch):
    seen, replies = [], {}

    async def fake_run(*argv, stdin=None):
        seen.append((argv, stdin))
        return replies.get(argv[:3], "")
    monkeypatch.setattr(iptables, "_run", fake_run)
    return seen, replies


ADDRS = ("1: lo    inet 127.0.0.1/8 scope host lo\n"
         "2: eth0@if7    inet 10.200.0.11/24 brd 10.200.0.255 scope global eth0\n"
         "3: cni0    inet 10.244.2.1/24 brd 10.244.2.255 scope global cni0\n")


async def test_device_of_finds_the_node_interface(calls):
    _, replies = calls
    replies[("ip", "-o", "-4")] = ADDRS
    assert await iptables.device_of("10.200.0.11") == "eth0"
    with pytest.raises(iptables.IptablesError, match="10.200.0.99"):
        await iptables.device_of("10.200.0.99")


async def test_route_added_only_when_missing(calls):
    seen, replies = calls
    assert await iptables.ensure_route("10.96.0.0/12", "eth0") is True
    assert seen[-1][0] == ("ip", "route", "replace", "10.96.0.0/12", "dev", "eth0")
    seen.clear()
    replies[("ip", "-4", "route")] = "10.96.0.0/12 dev eth0 scope link \n"
    assert await iptables.ensure_route("10.96.0.0/12", "eth0") is False
    assert [c[0][:3] for c in seen] == [("ip", "-4", "route")]


async def test_restore_is_noflush_and_save_reads_both_tables(calls):
    seen, _ = calls
    await iptables.restore("*nat\nCOMMIT\n")
    assert seen[-1] == (("iptables-restore", "-w", "5", "--noflush"), "*nat\nCOMMIT\n")
    await iptables.save()
    assert [c[0] for c in seen[-2:]] == [("iptables-save", "-t", "nat"), ("iptables-save", "-t", "filter")]


async def test_tool_failure_names_the_command():
    with pytest.raises(iptables.IptablesError, match="exit 1"):
        await iptables._run("false")
