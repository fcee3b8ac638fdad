"""Run host commands for the netns provider and turn failures into one-line errors."""
from __future__ import annotations

import subprocess

from ..base import ProviderError


def sh(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    """Run a command; with check, a non-zero exit raises ProviderError naming the command."""
    try:
        proc = subprocess.run(list(args), capture_output=True, text=True, input=input, timeout=60)
    except FileNotFoundError:
        raise ProviderError(f"{args[0]}: command not found (run `make up` to install what labctl needs)")
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise ProviderError(f"`{' '.join(args)}` failed: {msg[-1] if msg else 'exit ' + str(proc.returncode)}")
    return proc


def ok(*args: str) -> bool:
    """True when the command exits 0 (its output is discarded)."""
    return sh(*args, check=False).returncode == 0
