"""Subreaper bookkeeping: exit codes of detached children and orphan zombies (in a child interpreter)."""
from __future__ import annotations

import os
import subprocess
import sys

from labkube.kubelet.runtime.reaper import decode_status

SCRIPT = r"""
import asyncio, subprocess, sys
from labkube.kubelet.runtime.reaper import Reaper, become_subreaper
async def main():
    assert become_subreaper()
    r = Reaper()
    # a detached grandchild (like a container after `crun run -d`) re-parented to us
    pid = int(subprocess.run(["sh", "-c", "sh -c 'sleep 0.2; exit 5' >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True).stdout)
    code = await asyncio.wait_for(r.watch(pid), 10)
    subprocess.run(["sh", "-c", "sleep 0.1 &"])          # an orphan nobody waits for
    await asyncio.sleep(0.4)
    first, second = r.sweep(), r.sweep()
    print(code, len(first), len(second))
asyncio.run(main())
"""


def test_watch_gets_exit_code_and_sweep_reaps_orphans():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", "0", "1"]


def test_decode_status():
    assert decode_status(3 << 8) == 3
    assert decode_status(9) == 137
