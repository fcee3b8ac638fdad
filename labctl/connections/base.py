"""What every connection offers (the contract in docs/contracts.md).

A connection runs shell commands on one host and moves files to and from
it.  ``run`` never raises for a non-zero exit status; it raises
:class:`UnreachableError` when the host cannot be reached at all.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass


class UnreachableError(Exception):
    """The host cannot be reached; ``str()`` is one line naming host and cause."""


@dataclass
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0


def parse_mode(mode) -> int | None:
    """``0644``, ``"0644"``, ``"644"``, ``420`` -> int; None stays None."""
    if mode is None or mode == "":
        return None
    if isinstance(mode, int):
        return mode
    s = str(mode).strip()
    if s.startswith("0o"):
        s = s[2:]
    return int(s, 8)


def build_command(cmd, env=None, shell="/bin/sh") -> str:
    """A single command line: ``cd``-free, env exported, run by ``shell -c``."""
    if isinstance(cmd, (list, tuple)):
        cmd = " ".join(shlex.quote(str(c)) for c in cmd)
    if env:
        exports = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
        cmd = f"export {exports}; {cmd}"
    return f"{shell} -c {shlex.quote(cmd)}"


class Connection:
    """Base class; see :mod:`labctl.connections.ssh` and :mod:`labctl.connections.local`."""

    host = "?"
    kind = "?"

    def run(self, cmd, *, stdin=None, timeout=None, env=None) -> CommandResult:
        raise NotImplementedError

    def put(self, data: bytes, remote_path: str, mode=None) -> None:
        raise NotImplementedError

    def get(self, remote_path: str) -> bytes:
        raise NotImplementedError

    def sha256(self, remote_path: str) -> str | None:
        r = self.run(f"sha256sum -- {shlex.quote(remote_path)} 2>/dev/null")
        if r.rc != 0 or not r.stdout.strip():
            return None
        return r.stdout.split()[0]

    def run_python(self, code: str, args=(), timeout=None) -> CommandResult:
        """Run a small stdlib-only Python program on the host with sys.argv[1:] = args."""
        argv = " ".join(shlex.quote(str(a)) for a in args)
        return self.run(f"python3 -c {shlex.quote(code)} {argv}", timeout=timeout)

    def stat(self, path, follow=False, checksum=False):
        """Optional fast path: a file_info dict, None if missing, or NotImplemented (use the shell)."""
        return NotImplemented

    def tree(self, path):
        """Optional fast path: fileinfo.tree_info of a directory, or NotImplemented (use the shell)."""
        return NotImplemented

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
