"""The lab's own playbooks (site.yml, smoke.yml) and roles load (the equivalent of --syntax-check)."""
from pathlib import Path

import pytest

from labctl.engine import load_playbook

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not (ROOT / "site.yml").exists(), reason="no site.yml in this checkout")
@pytest.mark.parametrize("playbook", ["site.yml", "smoke.yml"])
def test_lab_playbook_loads(playbook):
    plays = load_playbook(ROOT / playbook)
    assert plays and all(p.hosts for p in plays)


def _flat(tasks, params=None):
    """(task name, role params, when) in run order, blocks and roles flattened."""
    for t in tasks:
        if t.block:
            role = getattr(t, "role", None)
            yield from _flat(t.block, role.params if role is not None and t.action == "block" else params)
        else:
            yield t.name, params or {}, t.when


@pytest.mark.skipif(not (ROOT / "site.yml").exists(), reason="no site.yml in this checkout")
def test_site_yml_starts_kube_proxy_before_waiting_for_the_node():
    """The kubelet and kube-proxy start up together; the node's Ready wait runs once, after both."""
    node_play = next(p for p in load_playbook(ROOT / "site.yml") if p.name == "Node services")
    order = list(_flat(node_play.tasks))
    names = [n for n, _, _ in order]
    ready = "Wait for the node to register and be Ready"
    runs = [i for i, (n, params, when) in enumerate(order)
            if n == ready and not (when and params.get("kubelet_wait_ready") is False)]
    assert len(runs) == 1, order
    assert names.index("Start the kubelet") < names.index("Start kube-proxy") < runs[0]
    assert names.index("Wait for the service rules and the service route") < runs[0]
