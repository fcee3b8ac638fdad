"""What the lab integration tests share: running labctl and kubectl, and waiting for a condition."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABCTL = [sys.executable, "-m", "labctl.cli.main"]


def labctl(*args, env, timeout=600):
    return subprocess.run([*LABCTL, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def kubectl(*args, env, check=True, input=None, timeout=60):
    proc = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, input=input,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc


def wait_for(what, probe, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")
