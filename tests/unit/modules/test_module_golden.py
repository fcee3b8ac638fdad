"""Golden-file tests per module: input (golden/cases.yml) -> result/diff (golden/<module>.json).

Each case runs the module with the local connection in a fresh tmp dir, as
many times as ``runs`` says (a second run shows idempotence: changed=false).
Regenerate with ``LABCTL_UPDATE_GOLDEN=1 pytest tests/unit/modules``.
"""
import json
import os
from pathlib import Path

import pytest
import yaml

from modharness import normalize, run_module

HERE = Path(__file__).parent / "golden"
CASES = yaml.safe_load((HERE / "cases.yml").read_text())


def _golden(module):
    p = HERE / f"{module}.json"
    return json.loads(p.read_text()) if p.exists() else {}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_module_golden(case, tmp_path):
    for rel, content in (case.get("files") or {}).items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    vars = dict(case.get("vars") or {}, tmp=str(tmp_path))
    results = []
    for _ in range(case.get("runs", 1)):
        res = run_module(case["module"], case["args"], tmp_path, check=case.get("check", False),
                         diff=case.get("diff", False), vars=vars)
        results.append(normalize(res, tmp_path))
    for rel, content in (case.get("expect_files") or {}).items():
        assert (tmp_path / rel).read_text() == content
    for rel in case.get("expect_absent") or []:
        assert not (tmp_path / rel).exists()
    if case.get("runs", 1) > 1 and not results[0].get("failed"):
        assert results[-1]["changed"] is False, "second run must not change anything"
    golden_file = HERE / f"{case['module']}.json"
    golden = _golden(case["module"])
    if os.environ.get("LABCTL_UPDATE_GOLDEN"):
        golden[case["id"]] = results
        golden_file.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    assert case["id"] in golden, f"no golden result for {case['id']} (run with LABCTL_UPDATE_GOLDEN=1)"
    assert results == golden[case["id"]]
