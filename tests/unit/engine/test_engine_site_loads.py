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
def test_site_yml_starts_kube_proxy_once_the_node_is_ready():
    """The kubelet starts and its node is Ready before kube-proxy starts: on a 1-vCPU VM under
    emulation the two Python services starting side by side were slower than one after the other."""
    node_play = next(p for p in load_playbook(ROOT / "site.yml") if p.name == "Node services")
    order = list(_flat(node_play.tasks))
    names = [n for n, _, _ in order]
    ready = "Wait for the node to register and be Ready"
    # the wait from the node and the one from the control machine (ready_from_control)
    runs = [i for i, (n, params, when) in enumerate(order)
            if n.startswith(ready) and not (when and params.get("kubelet_wait_ready") is False)]
    assert len(runs) == 2, order
    for run in runs:
        assert names.index("Start the kubelet") < run < names.index("Start kube-proxy")
        assert run < names.index("Apply pending kube-proxy restarts")
