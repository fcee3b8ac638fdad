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
