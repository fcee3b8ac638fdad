"""Inventory formats: golden ``--list`` JSON per case, and compatibility with ansible-inventory."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labctl.inventory import InventoryError, load_inventory

CASES = Path(__file__).parent / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _ansible_inventory():
    exe = shutil.which("ansible-inventory") or str(Path(os.sys.executable).parent / "ansible-inventory")
    return exe if os.path.exists(exe) else None


@pytest.mark.parametrize("case", CASE_NAMES)
def test_list_matches_golden(case):
    inv = load_inventory(CASES / case)
    golden = CASES / f"{case}.golden.json"
    got = json.loads(inv.to_ansible_list_text())
    if os.environ.get("LABCTL_UPDATE_GOLDEN"):
        golden.write_text(inv.to_ansible_list_text() + "\n")
    assert got == json.loads(golden.read_text())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_list_matches_ansible_inventory(case, tmp_path):
    exe = _ansible_inventory()
    if not exe:
        pytest.skip("ansible-core not installed (pip install ansible-core to run the compatibility test)")
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path), ANSIBLE_HOME=str(tmp_path))
    out = subprocess.run([exe, "-i", str(CASES / case), "--list"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True).stdout
    assert json.loads(load_inventory(CASES / case).to_ansible_list_text()) == json.loads(out)


REPO_INVENTORIES = sorted((Path(__file__).resolve().parents[3] / "inventories").glob("*/"))


@pytest.mark.parametrize("inv_dir", REPO_INVENTORIES, ids=[p.name for p in REPO_INVENTORIES])
def test_repo_inventories_match_ansible_inventory(inv_dir, tmp_path):
    exe = _ansible_inventory()
    if not exe:
        pytest.skip("ansible-core not installed (pip install ansible-core to run the compatibility test)")
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path), ANSIBLE_HOME=str(tmp_path))
    out = subprocess.run([exe, "-i", str(inv_dir), "--list"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True).stdout
    assert json.loads(load_inventory(inv_dir).to_ansible_list_text()) == json.loads(out)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_graph_matches_ansible_inventory(case, tmp_path):
    exe = _ansible_inventory()
    if not exe:
        pytest.skip("ansible-core not installed (pip install ansible-core to run the compatibility test)")
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path), ANSIBLE_HOME=str(tmp_path))
    out = subprocess.run([exe, "-i", str(CASES / case), "--graph"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True).stdout
    assert load_inventory(CASES / case).graph() == out.rstrip("\n")
