"""Run helper commands (ip, crun, CNI plugins) asynchronously with a timeout."""
from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass


@dataclass
class Result:
    rc: int
    stdout: bytes
    stderr: bytes

    @property
    def err(self) -> str:
        return (self.stderr or self.stdout).decode(errors="replace").strip()


async def run(args: list, *, stdin: bytes | int | None = None, env: dict | None = None,
              timeout: float = 60.0, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
              new_session: bool = False) -> Result:
    """``stdin``: bytes to feed, a file descriptor to hand over, or None for /dev/null."""
    fd = isinstance(stdin, int)
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=stdin if fd else asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=stdout, stderr=stderr, env=env, start_new_session=new_session)
    try:
        out, err = await asyncio.wait_for(proc.communicate(None if fd else stdin), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return Result(124, b"", f"{args[0]}: timed out after {timeout}s".encode())
    return Result(proc.returncode, out or b"", err or b"")


SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def search_path() -> str:
    """Our PATH plus the system directories (services may start with a minimal PATH)."""
    seen, out = set(), []
    for d in (os.environ.get("PATH", "") + ":" + SYSTEM_PATH).split(":"):
        if d and d not in seen:
            seen.add(d)
            out.append(d)
    return ":".join(out)


def which(name: str) -> str:
    """Absolute path of a helper binary (``name`` itself when not found, for the error)."""
    return shutil.which(name, path=search_path()) or name


def base_env() -> dict:
    """Environment for helpers that run further tools (CNI plugins run iptables)."""
    return {"PATH": search_path()}
