"""SSH connection over paramiko: one transport per host, reused for every task.

Lab hosts get fresh host keys on every build, so unknown keys are accepted
and nothing is written to the user's known_hosts.  Commands run as
``/bin/sh -c '<cmd>'``: by default through a tiny stdlib-only python3 helper
started once per connection with ``exec_command`` (it runs each command with
``subprocess`` and answers with one JSON line), which saves the SSH session
set-up that otherwise costs 0.1-0.5 s per command; where the host has no
python3, or with ``agent=False`` / ``LABCTL_SSH_AGENT=0``, every command gets its
own ``exec_command`` channel.  Files go over SFTP to a temporary name and are
renamed into place (atomic, so running binaries can be replaced).
"""
from __future__ import annotations

import base64
import inspect
import json
import os
import shlex
import socket
import sys
import threading
import uuid
from time import monotonic as _monotonic
from time import sleep as _sleep

# paramiko.config imports `invoke` when it is installed, only for `Match exec` in ssh_config
# files, which labctl never reads; that import (asyncio, unittest.mock...) costs about
# 0.1 s of CPU in every labctl run. Unless something imported it already, it is left out.
sys.modules.setdefault("invoke", None)
import paramiko  # noqa: E402

from . import fileinfo
from .base import CommandResult, Connection, UnreachableError, build_command, parse_mode


_AGENT_LOOP = r"""
import base64, json, os, signal, subprocess, sys
rd, wr = sys.stdin.buffer, sys.stdout.buffer
wr.write(b"LABCTL-AGENT-3\n"); wr.flush()
enc = lambda b: base64.b64encode(b).decode()
def run_py(q):
    import io, traceback
    out, err, rc = io.StringIO(), io.StringIO(), 0
    saved = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = ["-c"] + q["argv"], out, err
    try:
        exec(compile(q["code"], "<labctl>", "exec"), {"__name__": "__main__"})
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        if not isinstance(e.code, int) and e.code is not None:
            err.write(str(e.code) + "\n")
    except BaseException:
        rc = 1
        err.write(traceback.format_exc())
    finally:
        sys.argv, sys.stdout, sys.stderr = saved
    return {"rc": rc, "out": enc(out.getvalue().encode()), "err": enc(err.getvalue().encode()), "to": False}
SUM_CACHE = os.path.expanduser("~/.cache/labctl/sha256-cache.json")
for line in rd:
    q = json.loads(line)
    if q.get("op") == "tree":
        wr.write(json.dumps({"tree": tree_info(q["path"])}).encode() + b"\n")
        wr.flush()
        continue
    if q.get("op") == "py":
        wr.write(json.dumps(run_py(q)).encode() + b"\n")
        wr.flush()
        continue
    if q.get("op") == "stat":
        wr.write(json.dumps({"st": file_info(q["path"], q["follow"], q["checksum"])}).encode() + b"\n")
        wr.flush()
        continue
    env = dict(os.environ); env.update(q.get("env") or {})
    data = base64.b64decode(q["stdin"]) if q.get("stdin") is not None else b""
    r = {"rc": 127, "out": "", "err": "", "to": False}
    try:
        p = subprocess.Popen([q["shell"], "-c", q["cmd"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            o, e = p.communicate(data, timeout=q.get("timeout"))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                o, e = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                o, e = b"", b""
            r["to"] = True
        r.update(rc=p.returncode if not r["to"] else -1, out=enc(o), err=enc(e))
    except OSError as x:
        r["err"] = enc(str(x).encode())
    wr.write(json.dumps(r).encode() + b"\n"); wr.flush()
"""
# the helper = file_info (shared with the local connection) + the request loop
_AGENT = inspect.getsource(fileinfo) + _AGENT_LOOP


class _AcceptAnyKey(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client, hostname, key):
        return None  # accept, and do not remember


def _drain(recv, chunks: list) -> None:
    """Append what recv returns until EOF (b"")."""
    while True:
        data = recv(65536)
        if not data:
            return
        chunks.append(data)


def _drain_quiet(recv, chunks: list) -> None:
    """_drain for the helper thread: a timeout or a closed channel just ends it."""
    try:
        _drain(recv, chunks)
    except (socket.timeout, TimeoutError, OSError, EOFError, paramiko.SSHException):
        pass


class SSHConnection(Connection):
    kind = "ssh"

    def __init__(self, host, *, address=None, port=22, user="root", key_file=None,
                 password=None, connect_timeout=10, shell="/bin/sh", agent=None, python="python3",
                 channel_timeout=None):
        self.host = host
        self.address = address or host
        self.port = int(port or 22)
        self.user = user or "root"
        self.key_file = os.path.expanduser(key_file) if key_file else None
        self.password = password
        self.connect_timeout = connect_timeout
        # opening a session and the command helper's first answer: on a slow (emulated,
        # loaded) host sshd and python3 need longer than the TCP connect
        self.channel_timeout = float(channel_timeout) if channel_timeout else max(connect_timeout, 10)
        self.shell = shell
        self._client = None
        self._sftp = None
        self._lock = threading.Lock()
        if agent is None:
            agent = os.environ.get("LABCTL_SSH_AGENT", "1") not in ("0", "no", "false")
        self.use_agent = agent
        self.python = python if python and not str(python).startswith("auto") else "python3"
        self._agent = None          # (channel, file) of the running helper
        self._agent_lock = threading.Lock()

    # -- session ---------------------------------------------------------
    def _connect(self):
        if self._client is not None and self._client.get_transport() and \
                self._client.get_transport().is_active():
            return self._client
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_AcceptAnyKey())
        deadline = _monotonic() + self.connect_timeout
        try:
            while True:
                try:
                    client.connect(self.address, port=self.port, username=self.user,
                                   key_filename=self.key_file, password=self.password,
                                   timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                                   auth_timeout=self.connect_timeout,
                                   look_for_keys=self.key_file is None and self.password is None,
                                   allow_agent=self.key_file is None and self.password is None)
                    break
                except (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError) as e:
                    # sshd not listening yet (a node still starting): retry until the connect timeout
                    if _monotonic() + 0.5 >= deadline:
                        raise OSError(getattr(e, "errno", None), "connection refused") from None
                    _sleep(0.5)
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
        try:  # small request/answer pairs: without this, Nagle + delayed ACKs add ~40 ms each
            t.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        self._client = client
        self._sftp = None
        self._agent = None   # a helper belongs to its transport
        return client

    def connect(self):
        with self._lock:
            self._connect()
        return self

    def _channel(self):
        with self._lock:
            client = self._connect()
            try:
                return client.get_transport().open_session(timeout=self.channel_timeout)
            except (paramiko.SSHException, OSError, EOFError) as e:
                self._client = None
                raise UnreachableError(f"{self.host}: SSH session failed: {e}") from None

    # -- the helper ----------------------------------------------------------
    def _readline(self, chan) -> bytes:
        """One line from the helper (b"" at EOF); large answers are read in big chunks."""
        buf = getattr(self, "_rbuf", b"")
        chunks = [buf] if buf else []
        if b"\n" not in buf:
            while True:
                data = chan.recv(1 << 20)
                if not data:
                    self._rbuf = b""
                    return b"".join(chunks)
                chunks.append(data)
                if b"\n" in data:
                    break
        whole = b"".join(chunks)
        line, _, rest = whole.partition(b"\n")
        self._rbuf = rest
        return line + b"\n"

    def _start_agent(self):
        chan = self._channel()
        try:
            chan.exec_command(f"{shlex.quote(self.python)} -u -c {shlex.quote(_AGENT)}")
            chan.settimeout(self.channel_timeout)
            f = None
            self._rbuf = b""
            hello = self._readline(chan)
        except (socket.timeout, TimeoutError, paramiko.SSHException, OSError, EOFError):
            hello = b""
        if hello.strip() != b"LABCTL-AGENT-3":
            chan.close()
            self.use_agent = False  # no python3 there: one channel per command
            return None
        chan.settimeout(None)
        self._agent = (chan, f)
        return self._agent

    def _run_agent(self, cmd, stdin, timeout, env):
        with self._agent_lock:
            agent = self._agent
            if agent is None or agent[0].closed:
                agent = self._start_agent()
                if agent is None:
                    return None
            chan, f = agent
            if isinstance(stdin, str):
                stdin = stdin.encode()
            req = {"cmd": cmd if isinstance(cmd, str) else " ".join(shlex.quote(str(c)) for c in cmd),
                   "shell": self.shell, "timeout": timeout,
                   "env": {k: str(v) for k, v in (env or {}).items()},
                   "stdin": base64.b64encode(stdin).decode() if stdin is not None else None}
            try:
                chan.sendall(json.dumps(req).encode() + b"\n")
                chan.settimeout(timeout + 60 if timeout else None)
                line = self._readline(chan)
            except (socket.timeout, TimeoutError):
                chan.close()
                self._agent = None
                return CommandResult(-1, "", f"command timed out after {timeout} s", timed_out=True)
            except (paramiko.SSHException, OSError, EOFError) as e:
                self._agent = None
                self._client = None
                raise UnreachableError(f"{self.host}: SSH connection lost: {e}") from None
            if not line:
                self._agent = None
                raise UnreachableError(f"{self.host}: SSH connection lost (command helper exited)")
            r = json.loads(line)
            dec = lambda s: base64.b64decode(s).decode(errors="replace")
            return CommandResult(r["rc"], dec(r["out"]), dec(r["err"]) if not r["to"] else
                                 f"command timed out after {timeout} s", timed_out=r["to"])

    def run_python(self, code: str, args=(), timeout=None) -> CommandResult:
        """A small stdlib-only Python program run inside the helper (no interpreter started),
        with sys.argv[1:] = args; without the helper, `python3 -c`. Its output is captured
        when it ends, so it must not run longer than `timeout`."""
        res = self._helper_call({"op": "py", "code": code, "argv": [str(a) for a in args]}, timeout)
        if res is NotImplemented:
            return Connection.run_python(self, code, args, timeout)
        dec = lambda s: base64.b64decode(s).decode(errors="replace")
        return CommandResult(res["rc"], dec(res["out"]), dec(res["err"]))

    def _agent_request(self, chan, req: dict, timeout) -> dict:
        """One request to the running helper and its answer (the agent lock is held)."""
        try:
            chan.sendall(json.dumps(req).encode() + b"\n")
            chan.settimeout(timeout + 60 if timeout else None)
            line = self._readline(chan)
        except (socket.timeout, TimeoutError, paramiko.SSHException, OSError, EOFError) as e:
            chan.close()
            self._agent = None
            raise UnreachableError(f"{self.host}: SSH connection lost: {e}") from None
        if not line:
            self._agent = None
            raise UnreachableError(f"{self.host}: SSH connection lost (command helper exited)")
        return json.loads(line)

    def _helper_call(self, req: dict, timeout: float):
        """One request to the command helper (started if needed); NotImplemented without it."""
        if not self.use_agent:
            return NotImplemented
        with self._agent_lock:
            agent = self._agent
            if agent is None or agent[0].closed:
                agent = self._start_agent()
                if agent is None:
                    return NotImplemented
            return self._agent_request(agent[0], req, timeout)

    def stat(self, path, follow=False, checksum=False):
        """File facts computed by the helper (no process started); NotImplemented without it."""
        res = self._helper_call({"op": "stat", "path": str(path), "follow": bool(follow),
                                 "checksum": bool(checksum)}, 240)
        return res if res is NotImplemented else res["st"]

    def tree(self, path):
        """fileinfo.tree_info of a directory, computed by the helper; NotImplemented without it."""
        res = self._helper_call({"op": "tree", "path": str(path)}, 240)
        return res if res is NotImplemented else res["tree"]

    def sha256(self, remote_path: str) -> str | None:
        st = self.stat(remote_path, follow=True, checksum=True)
        if st is NotImplemented:
            return Connection.sha256(self, remote_path)
        return st.get("sha256") if st else None

    # -- API ---------------------------------------------------------------
    def run(self, cmd, *, stdin=None, timeout=None, env=None) -> CommandResult:
        if self.use_agent:
            res = self._run_agent(cmd, stdin, timeout, env)
            if res is not None:
                return res
        chan = self._channel()
        line = build_command(cmd, env=env, shell=self.shell)
        out, err = [], []
        try:
            chan.settimeout(timeout)
            chan.exec_command(line)
            if stdin is not None:
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            chan.shutdown_write()
            # stderr drains in a helper thread; stdout here, blocking until EOF, so the
            # command's end wakes us at once (no polling)
            reader = threading.Thread(target=_drain_quiet, args=(chan.recv_stderr, err), daemon=True)
            reader.start()
            try:
                _drain(chan.recv, out)
            except socket.timeout:
                chan.close()
                return CommandResult(-1, b"".join(out).decode(errors="replace"),
                                     f"command timed out after {timeout} s", timed_out=True)
            reader.join(timeout)
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

    def close(self) -> None:
        with self._lock:
            if self._agent is not None:
                try:
                    self._agent[0].close()
                except Exception:
                    pass
                self._agent = None
            if self._sftp is not None:
                try:
                    self._sftp.close()
                except Exception:
                    pass
            if self._client is not None:
                self._client.close()
            self._sftp = self._client = None
