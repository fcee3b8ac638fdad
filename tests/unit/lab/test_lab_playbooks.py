"""`labctl up` deploys with site.yml, writes the kubeconfig, then smoke-tests with smoke.yml
(skipped with --no-smoke); both playbooks get the same variables from labctl, and
`labctl play site.yml` gets them too."""
import sys
from pathlib import Path

import pytest

import labctl.engine
from labctl import artifacts
from labctl.errors import LabError
from labctl.lab import Lab
from labctl.providers.base import Endpoint

ROOT = Path(__file__).resolve().parents[3]


class FakeProvider:
    name = "fake"

    def create(self, specs):
        return [Endpoint(s.name, s.address, private_key_file="/keys/id") for s in specs]


class Result:
    def __init__(self, ok):
        self.ok, self.stats = ok, {"m": {"failed": 0 if ok else 1, "unreachable": 0}}


@pytest.fixture
def lab(monkeypatch, tmp_path):
    lab = Lab(ROOT / "inventories" / "local", state_dir=str(tmp_path / "state"))
    monkeypatch.setattr(Lab, "provider", lambda self: FakeProvider())
    monkeypatch.setattr(artifacts, "wheelhouse", lambda: Path("/wh"))
    monkeypatch.setattr(artifacts, "images", lambda: Path("/img"))
    monkeypatch.setattr(artifacts, "uv_binary", lambda: Path("/uv"))
    calls = []
    monkeypatch.setattr(Lab, "write_kubeconfig", lambda self: calls.append("kubeconfig"))
    lab.calls = calls
    lab.fail = set()

    def run_playbook(path, inventory, extra_vars, callback):
        name = Path(path).name
        calls.append((name, extra_vars))
        return Result(name not in lab.fail)
    monkeypatch.setattr(labctl.engine, "run_playbook", run_playbook)
    return lab


EXPECTED_VARS = {"labctl_wheelhouse": "/wh", "labctl_images_dir": "/img", "labctl_uv": "/uv",
                 "ansible_ssh_private_key_file": "/keys/id",
                 "labctl_python": sys.executable}     # smoke checks run from the control machine


@pytest.mark.parametrize("smoke, order", [
    (True, ["site.yml", "kubeconfig", "smoke.yml"]),
    (False, ["site.yml", "kubeconfig"]),
])
def test_up_runs_site_then_smoke(lab, smoke, order):
    lab.up(smoke=smoke)
    assert [c if isinstance(c, str) else c[0] for c in lab.calls] == order
    for call in lab.calls:
        if not isinstance(call, str):
            assert call[1] == {**EXPECTED_VARS, "lab_state_dir": str(lab.state_dir)}


@pytest.mark.parametrize("failing", ["site.yml", "smoke.yml"])
def test_a_failed_playbook_fails_up_naming_it(lab, failing):
    lab.fail.add(failing)
    with pytest.raises(LabError, match=f"{failing} failed on m"):
        lab.up()


def test_the_lab_playbooks_are_next_to_each_other():
    assert (ROOT / "site.yml").exists() and (ROOT / "smoke.yml").exists()
    assert "smoke" not in (ROOT / "site.yml").read_text().split("roles:")[-1]


def test_labctl_play_gives_the_lab_playbooks_labctl_up_vars(lab, monkeypatch):
    from labctl.cli.main import main
    seen = {}

    def run_playbook(path, inventory, extra_vars, **kw):
        seen[Path(path).name] = extra_vars
        return type("R", (), {"exit_code": 0})()
    monkeypatch.setattr(labctl.engine, "run_playbook", run_playbook)
    inv = str(ROOT / "inventories" / "local")
    assert main(["play", "-i", inv, "--json", "-e", "labctl_uv=/mine", str(ROOT / "site.yml")]) == 0
    assert seen["site.yml"]["labctl_wheelhouse"] == "/wh" and seen["site.yml"]["labctl_uv"] == "/mine"
    other = lab.state_dir.parent / "other.yml"
    other.write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    assert main(["play", "-i", inv, "--json", str(other)]) == 0
    assert "labctl_wheelhouse" not in seen["other.yml"]


def test_up_builds_the_artifacts_while_the_nodes_are_created(lab, monkeypatch):
    """The wheelhouse is built on the control machine while the provider creates the nodes
    (VMs boot for minutes), not after: here create() returns only once the build has begun."""
    import threading
    started = threading.Event()

    def wheelhouse():
        started.set()
        return Path("/wh")

    class WaitingProvider(FakeProvider):
        def create(self, specs):
            assert started.wait(30), "the wheelhouse build had not begun while the nodes were created"
            return super().create(specs)
    monkeypatch.setattr(artifacts, "wheelhouse", wheelhouse)
    monkeypatch.setattr(Lab, "provider", lambda self: WaitingProvider())
    lab.up(smoke=False)
    assert lab.calls[0] == ("site.yml", {**EXPECTED_VARS, "lab_state_dir": str(lab.state_dir)})
