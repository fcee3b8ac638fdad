"""The lab's own site.yml and roles load (the equivalent of --syntax-check)."""
from pathlib import Path

import pytest

from labctl.engine import load_playbook

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not (ROOT / "site.yml").exists(), reason="no site.yml in this checkout")
def test_site_yml_loads():
    plays = load_playbook(ROOT / "site.yml")
    assert plays and all(p.hosts for p in plays)
