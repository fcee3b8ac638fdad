"""``become``: run a task as another user (root by default) through ``sudo -n``.

Only used when the connection's user differs from ``become_user``; lab nodes
are reached as root, so there it is a no-op.  Files are written to a private
temporary file first and moved into place as the target user.
"""
from __future__ import annotations

import base64
import shlex
import uuid

from labctl.connections.base import parse_mode

q = shlex.quote


class BecomeConnection:
    def __init__(self, conn, user="root", method="sudo"):
        self._c = conn
        self.user = user or "root"
        self.method = method or "sudo"
        self.host = getattr(conn, "host", "?")

    def _wrap(self, cmd) -> str:
        if isinstance(cmd, (list, tuple)):
            cmd = " ".join(q(str(c)) for c in cmd)
        if self.method == "su":
            return f"su -s /bin/sh {q(self.user)} -c {q(cmd)}"
        return f"sudo -n -H -u {q(self.user)} /bin/sh -c {q(cmd)}"

    def run(self, cmd, *, stdin=None, timeout=None, env=None):
        if env:
            exports = " ".join(f"{k}={q(str(v))}" for k, v in env.items())
            cmd = f"export {exports}; {cmd}"
        return self._c.run(self._wrap(cmd), stdin=stdin, timeout=timeout)

    def put(self, data: bytes, remote_path: str, mode=None):
        tmp = f"/tmp/.labctl-become-{uuid.uuid4().hex[:12]}"
        self._c.put(data, tmp, 0o600)
        m = parse_mode(mode)
        chmod = f" && chmod {m:04o} {q(remote_path)}" if m is not None else ""
        r = self.run(f"cat {q(tmp)} > {q(remote_path)}.labctl-new && mv -f {q(remote_path)}.labctl-new "
                     f"{q(remote_path)}{chmod}; rc=$?; rm -f {q(tmp)}; exit $rc")
        self._c.run(f"rm -f {q(tmp)}")
        if r.rc != 0:
            raise OSError(f"{self.host}: cannot write {remote_path} as {self.user}: {r.stderr.strip()}")

    def get(self, remote_path: str) -> bytes:
        r = self.run(f"base64 -w0 -- {q(remote_path)}")
        if r.rc != 0:
            raise FileNotFoundError(f"{remote_path}: {r.stderr.strip()}")
        return base64.b64decode(r.stdout)

    def sha256(self, remote_path: str):
        r = self.run(f"sha256sum -- {q(remote_path)} 2>/dev/null")
        return r.stdout.split()[0] if r.rc == 0 and r.stdout.strip() else None

    stat = tree = None  # file facts must be read as the target user: modules use the shell path

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._c, name)
