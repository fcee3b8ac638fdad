"""SSH connection over paramiko: one transport per host, reused for every task.

Lab hosts get fresh host keys on every build, so unknown keys are accepted
and nothing is written to the user's known_hosts.  Commands run through
``exec_command`` as ``/bin/sh -c '<cmd>'``; files go over SFTP to a temporary
name and are renamed into place (atomic, so running binaries can be replaced).
"""
from __future__ import annotations

import os
import select
import shlex
import socket
import threading
import time
import uuid

import paramiko

from .base import CommandResult, Connection, UnreachableError, build_command, parse_mode


class _AcceptAnyKey(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client, hostname, key):
        return None  # accept, and do not remember


class SSHConnection(Connection):
    kind = "ssh"

    def __init__(self, host, *, address=None, port=22, user="root", key_file=None,
                 password=None, connect_timeout=10, shell="/bin/sh"):
        self.host = host
        self.address = address or host
        self.port = int(port or 22)
        self.user = user or "root"
        self.key_file = os.path.expanduser(key_file) if key_file else None
        self.password = password
        self.connect_timeout = connect_timeout
        self.shell = shell
        self._client = None
        self._sftp = None
        self._lock = threading.Lock()

    # -- session ---------------------------------------------------------
    def _connect(self):
        if self._client is not None and self._client.get_transport() and \
                self._client.get_transport().is_active():
            return self._client
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_AcceptAnyKey())
        try:
            client.connect(self.address, port=self.port, username=self.user,
                           key_filename=self.key_file, password=self.password,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout,
                           look_for_keys=self.key_file is None and self.password is None,
                           allow_agent=self.key_file is None and self.password is None)
        except paramiko.AuthenticationException as e:
            raise UnreachableError(f"{self.host}: SSH authentication failed for "
                                   f"{self.user}@{self.address}:{self.port}: {e}") from None
        except (socket.timeout, TimeoutError):
            raise UnreachableError(f"{self.host}: SSH connect to {self.address}:{self.port} timed out "
                                   f"after {self.connect_timeout} s") from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            cause = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise UnreachableError(f"{self.host}: cannot SSH to {self.user}@{self.address}:"
                                   f"{self.port}: {cause}") from None
        t = client.get_transport()
        t.set_keepalive(30)
        self._client = client
        self._sftp = None
        return client

    def connect(self):
        with self._lock:
            self._connect()
        return self

    def _channel(self):
        with self._lock:
            client = self._connect()
            try:
                return client.get_transport().open_session(timeout=self.connect_timeout)
            except (paramiko.SSHException, OSError, EOFError) as e:
                self._client = None
                raise UnreachableError(f"{self.host}: SSH session failed: {e}") from None

    # -- API ---------------------------------------------------------------
    def run(self, cmd, *, stdin=None, timeout=None, env=None) -> CommandResult:
        chan = self._channel()
        line = build_command(cmd, env=env, shell=self.shell)
        deadline = time.monotonic() + timeout if timeout else None
        out, err = [], []
        try:
            chan.exec_command(line)
            if stdin is not None:
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            chan.shutdown_write()
            while True:
                busy = False
                while chan.recv_ready():
                    out.append(chan.recv(65536))
                    busy = True
                while chan.recv_stderr_ready():
                    err.append(chan.recv_stderr(65536))
                    busy = True
                if busy:
                    continue
                if chan.exit_status_ready() and (chan.eof_received or chan.closed):
                    break
                wait = 1.0
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        chan.close()
                        return CommandResult(-1, b"".join(out).decode(errors="replace"),
                                             f"command timed out after {timeout} s", timed_out=True)
                    wait = min(wait, 1.0)
                select.select([chan], [], [], wait)
            rc = chan.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as e:
            self._client = None
            raise UnreachableError(f"{self.host}: SSH connection lost: {e}") from None
        finally:
            chan.close()
        return CommandResult(rc, b"".join(out).decode(errors="replace"),
                             b"".join(err).decode(errors="replace"))

    def _sftp_client(self):
        with self._lock:
            client = self._connect()
            if self._sftp is None:
                try:
                    self._sftp = client.open_sftp()
                except (paramiko.SSHException, OSError, EOFError) as e:
                    raise UnreachableError(f"{self.host}: SFTP failed: {e}") from None
            return self._sftp

    def put(self, data: bytes, remote_path: str, mode=None) -> None:
        if isinstance(data, str):
            data = data.encode()
        sftp = self._sftp_client()
        d = os.path.dirname(remote_path) or "."
        tmp = f"{d}/.labctl-{uuid.uuid4().hex[:12]}"
        m = parse_mode(mode)
        if m is None:
            try:
                m = sftp.stat(remote_path).st_mode & 0o7777
            except OSError:
                m = 0o644
        try:
            with sftp.open(tmp, "wb") as f:
                f.set_pipelined(True)
                f.write(data)
            sftp.chmod(tmp, m)
            sftp.posix_rename(tmp, remote_path)
        except OSError as e:
            try:
                sftp.remove(tmp)
            except OSError:
                pass
            raise OSError(e.errno, f"{self.host}: cannot write {remote_path}: {e.strerror or e}") from None

    def get(self, remote_path: str) -> bytes:
        sftp = self._sftp_client()
        with sftp.open(remote_path, "rb") as f:
            f.prefetch()
            return f.read()

    def sha256(self, remote_path: str) -> str | None:
        r = self.run(f"sha256sum -- {shlex.quote(remote_path)} 2>/dev/null")
        if r.rc != 0 or not r.stdout.strip():
            return None
        return r.stdout.split()[0]

    def close(self) -> None:
        with self._lock:
            if self._sftp is not None:
                try:
                    self._sftp.close()
                except Exception:
                    pass
            if self._client is not None:
                self._client.close()
            self._sftp = self._client = None
