"""Local connection: run commands with subprocess, files with plain I/O.

Used for ``ansible_connection: local``, the implicit ``localhost`` and tasks
with ``delegate_to: localhost``.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile

from .base import CommandResult, Connection, parse_mode
from .fileinfo import file_info, tree_info


class LocalConnection(Connection):
    kind = "local"

    def __init__(self, host="localhost", shell="/bin/sh"):
        self.host = host
        self.shell = shell

    def run(self, cmd, *, stdin=None, timeout=None, env=None) -> CommandResult:
        if isinstance(cmd, (list, tuple)):
            argv = [str(c) for c in cmd]
        else:
            argv = [self.shell, "-c", cmd]
        full_env = dict(os.environ, **{k: str(v) for k, v in (env or {}).items()})
        if isinstance(stdin, str):
            stdin = stdin.encode()
        try:
            p = subprocess.run(argv, input=stdin if stdin is not None else b"",
                               capture_output=True, timeout=timeout, env=full_env)
        except subprocess.TimeoutExpired as e:
            return CommandResult(-1, (e.stdout or b"").decode(errors="replace"),
                                 f"command timed out after {timeout} s", timed_out=True)
        except OSError as e:
            return CommandResult(127, "", str(e))
        return CommandResult(p.returncode, p.stdout.decode(errors="replace"),
                             p.stderr.decode(errors="replace"))

    def put(self, data: bytes, remote_path: str, mode=None) -> None:
        if isinstance(data, str):
            data = data.encode()
        d = os.path.dirname(remote_path) or "."
        try:
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".labctl-")
        except OSError as e:
            raise OSError(e.errno, f"cannot write {remote_path}: {e.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            m = parse_mode(mode)
            if m is None and os.path.exists(remote_path):
                m = os.stat(remote_path).st_mode & 0o7777
            os.chmod(tmp, m if m is not None else 0o644)
            os.replace(tmp, remote_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, remote_path: str) -> bytes:
        with open(remote_path, "rb") as f:
            return f.read()

    def sha256(self, remote_path: str) -> str | None:
        try:
            h = hashlib.sha256()
            with open(remote_path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            return None

    def stat(self, path, follow=False, checksum=False):
        """File facts without starting a process (see :mod:`labctl.connections.fileinfo`)."""
        return file_info(path, follow, checksum)

    def tree(self, path):
        return tree_info(path)
