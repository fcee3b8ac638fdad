"""The vagrant provider's wiring: chosen by the inventory, Vagrant's environment, names,
and halting one VM through libvirt."""
from pathlib import Path

import pytest

from labctl.lab import Lab
from labctl.providers.vagrant import STATES, VagrantProvider, libvirt
from labctl.providers.vagrant.env import vagrant_env

ROOT = Path(__file__).resolve().parents[3]


def test_lab_picks_the_vagrant_provider(tmp_path):
    lab = Lab(ROOT / "inventories" / "vagrant", state_dir=str(tmp_path))
    p = lab.provider()
    assert isinstance(p, VagrantProvider)
    assert p.lab == "vagrant" and p.subnet == "10.210.0.0/24" and p.box == "labctl-debian12"
    assert [s.name for s in lab.node_specs()] == ["m-k8s", "w1-k8s", "w2-k8s"]


def test_vagrant_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("VAGRANT_HOME", raising=False)
    p = VagrantProvider(tmp_path, ROOT / "inventories" / "vagrant", "vagrant", project_root=ROOT)
    (tmp_path / "ssh").mkdir()
    (tmp_path / "ssh" / "id_ed25519.pub").write_text("ssh-ed25519 AAAA lab\n")
    env = p.env()
    assert env["VAGRANT_HOME"] == "/var/lib/labctl/vagrant.d"
    assert env["VAGRANT_DEFAULT_PROVIDER"] == "libvirt"
    assert env["VAGRANT_DOTFILE_PATH"] == str(tmp_path / "vagrant")
    assert env["LABCTL_INVENTORY"] == str(ROOT / "inventories" / "vagrant")
    assert env["LABCTL_SSH_PUBKEY"] == "ssh-ed25519 AAAA lab"
    assert env["LABCTL_STORAGE_POOL"] == "labctl-vagrant-pool"
    monkeypatch.setenv("VAGRANT_HOME", "/srv/vh")
    assert vagrant_env()["VAGRANT_HOME"] == "/srv/vh"


def test_status_of_a_lab_never_made_is_empty(tmp_path):
    p = VagrantProvider(tmp_path, ROOT / "inventories" / "vagrant", "vagrant", project_root=ROOT)
    assert p.status() == []
    assert p.endpoints() == []


def test_states_and_names():
    assert STATES["poweroff"] == STATES["shutoff"] == "stopped"
    assert STATES["not_created"] == "missing"
    assert libvirt.prefix("x") == "labctl-x-" and libvirt.pool_name("x") == "labctl-x-pool"


def test_leftover_removal_by_name(monkeypatch):
    calls = []
    listings = {("list", "--all", "--name"): "labctl-x-m\nother-vm\n",
                ("net-list", "--all", "--name"): "default\nlabctl-x-mgmt\nlabctl-x-net\n",
                ("pool-list", "--all", "--name"): "default\nlabctl-x-pool\n",
                ("vol-list", "labctl-x-pool"): " base.img   /p/base.img\n"}

    class Res:
        def __init__(self, out):
            self.returncode, self.stdout, self.stderr = 0, out, ""

    def fake(*args, check=False):
        calls.append(args)
        return Res(listings.get(args, ""))
    monkeypatch.setattr(libvirt, "virsh", fake)
    removed = libvirt.remove_leftovers("x")
    assert ("undefine", "labctl-x-m", "--remove-all-storage", "--nvram") in calls
    assert ("net-undefine", "labctl-x-net") in calls and ("net-undefine", "default") not in calls
    assert ("vol-delete", "--pool", "labctl-x-pool", "base.img") in calls
    assert ("pool-undefine", "labctl-x-pool") in calls and ("pool-undefine", "default") not in calls
    assert not any("other-vm" in c for c in calls)
    assert "removed storage pool labctl-x-pool" in removed


def test_images_stay_reachable_for_qemu_when_a_parent_loses_its_x_bit(tmp_path):
    images = tmp_path / "state" / "lab" / "images"
    images.mkdir(parents=True)
    (tmp_path / "state").chmod(0o700)                 # as pytest does to its basetemp
    libvirt.traversable(images)
    for d in (images, images.parent, tmp_path / "state"):
        assert d.stat().st_mode & 0o001, d
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o701   # nothing else opened up


class _Domain:
    """A fake libvirt domain for libvirt.shut_down: `domstate` answers from a script of
    states (the last one repeats), every virsh call is recorded."""

    def __init__(self, states):
        self.states, self.calls = list(states), []

    def virsh(self, *args, check=False):
        self.calls.append(args)
        out = ""
        if args[0] == "domstate":
            out = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return type("Res", (), {"returncode": 0, "stdout": out + "\n", "stderr": ""})()


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds



@pytest.mark.parametrize("states, result, asked, destroyed", [
    (["running", "running", "in shutdown", "shut off"], "graceful", True, False),
    (["running"], "forced", True, True),                  # never powers off: the plug is pulled
    (["shut off"], "graceful", False, False),             # already halted: nothing to ask
])
def test_one_vm_is_halted_through_libvirt(monkeypatch, states, result, asked, destroyed):
    dom, clock, requests = _Domain(states), _Clock(), []
    monkeypatch.setattr(libvirt, "virsh", dom.virsh)
    got = libvirt.shut_down("labctl-x-w1", lambda: requests.append(1), timeout=30, clock=clock, sleep=clock.sleep)
    assert got == result
    assert bool(requests) == asked
    assert (("destroy", "labctl-x-w1") in dom.calls) == destroyed
    assert clock.now <= 30 + 1


def test_stop_node_on_libvirt_asks_the_vm_by_ssh_and_never_runs_vagrant_halt(tmp_path, monkeypatch):
    import labctl.providers.vagrant as provider
    p = VagrantProvider(tmp_path, ROOT / "inventories" / "vagrant", "vagrant", project_root=ROOT)
    p._save({"nodes": {"w1-k8s": "10.210.0.11"}, "created_pool": True})
    asked, halted = [], []
    monkeypatch.setattr(provider, "request_poweroff", lambda address, key: asked.append((address, key)) or "")
    monkeypatch.setattr(libvirt, "shut_down", lambda domain, request: (halted.append(domain), request(), "graceful")[2])
    monkeypatch.setattr(VagrantProvider, "vagrant", lambda self: pytest.fail("vagrant halt must not run on libvirt"))
    assert p.stop_node("w1-k8s") == "graceful"
    assert halted == ["labctl-vagrant-w1-k8s"]
    assert asked == [("10.210.0.11", tmp_path / "ssh" / "id_ed25519")]


class _SlowVagrant:
    """A fake python-vagrant object whose up() runs until released (as Vagrant's own SSH
    checks do after the VMs already answer labctl), or fails when told to."""

    def __init__(self, fail: str = ""):
        import threading
        self.release, self.fail, self.ups = threading.Event(), fail, 0

    def up(self):
        self.ups += 1
        if self.fail:
            import subprocess
            raise subprocess.CalledProcessError(1, ["vagrant", "up"])
        assert self.release.wait(10), "vagrant up was never released"


def _libvirt_create(tmp_path, monkeypatch, fake, ssh_ready):
    """A VagrantProvider.create on libvirt with the host checks, box, pool, routes and the
    SSH handshake faked; ssh_ready(name) says whether that VM answers yet."""
    import labctl.box
    import labctl.providers.vagrant as provider
    from labctl.providers.base import NodeSpec, ProviderError
    from labctl.providers.vagrant import ssh
    p = VagrantProvider(tmp_path, ROOT / "inventories" / "vagrant", "vagrant", project_root=ROOT)
    destroyed = []
    monkeypatch.setattr(provider, "host_problem", lambda libvirt_host: None)
    monkeypatch.setattr(labctl.box, "ensure_box", lambda box, log: None)
    monkeypatch.setattr(libvirt, "ensure_pool", lambda lab, path: False)
    monkeypatch.setattr(libvirt, "guard_routes", lambda cidrs, on: None)
    monkeypatch.setattr(VagrantProvider, "vagrant", lambda self: fake)
    monkeypatch.setattr(VagrantProvider, "destroy", lambda self: destroyed.append(True) or [])
    (tmp_path / "vagrant.log").write_text("Error: the fake vagrant up failed\n")

    def fake_wait(name, address, key, timeout=600, give_up=None):
        import time
        while not ssh_ready(name):
            reason = give_up() if give_up else None
            if reason:
                raise ProviderError(reason)
            time.sleep(0.01)
    monkeypatch.setattr(ssh, "wait_ssh", fake_wait)
    nodes = [NodeSpec("m-k8s", "10.210.0.10"), NodeSpec("w1-k8s", "10.210.0.11")]
    return p, nodes, destroyed


def test_create_on_libvirt_returns_once_the_vms_answer_while_vagrant_up_still_runs(tmp_path, monkeypatch):
    fake = _SlowVagrant()
    p, nodes, destroyed = _libvirt_create(tmp_path, monkeypatch, fake, ssh_ready=lambda name: True)
    try:
        endpoints = p.create(nodes)
        assert [(e.name, e.host, e.user) for e in endpoints] == [("m-k8s", "10.210.0.10", "root"),
                                                                 ("w1-k8s", "10.210.0.11", "root")]
        assert fake.ups == 1 and not fake.release.is_set()     # vagrant up has not ended yet
        assert destroyed == []
    finally:
        fake.release.set()


def test_create_on_libvirt_fails_and_removes_the_lab_when_vagrant_up_fails_first(tmp_path, monkeypatch):
    from labctl.providers.base import ProviderError
    fake = _SlowVagrant(fail="boom")
    p, nodes, destroyed = _libvirt_create(tmp_path, monkeypatch, fake, ssh_ready=lambda name: False)
    with pytest.raises(ProviderError, match="vagrant up failed: Error: the fake vagrant up failed"):
        p.create(nodes)
    assert destroyed == [True]
