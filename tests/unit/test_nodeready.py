"""labkube.nodeready.node_ready: a Node is Ready exactly when its Ready condition says "True"."""
from __future__ import annotations

import pytest

from labkube.nodeready import node_ready


def node(*conditions: tuple[str, str]) -> dict:
    return {"metadata": {"name": "w1"},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}


@pytest.mark.parametrize("obj, ready", [
    (node(("Ready", "True")), True),
    (node(("MemoryPressure", "False"), ("Ready", "True"), ("DiskPressure", "False")), True),
    (node(("Ready", "False")), False),
    (node(("Ready", "Unknown")), False),           # what node lifecycle sets on a silent node
    (node(("MemoryPressure", "True")), False),      # another condition's True does not count
    (node(), False),
    ({"metadata": {"name": "w1"}, "status": {}}, False),
    ({"metadata": {"name": "w1"}, "status": None}, False),
    ({"metadata": {"name": "w1"}}, False),          # a node that has never reported
])
def test_node_ready(obj, ready):
    assert node_ready(obj) is ready
