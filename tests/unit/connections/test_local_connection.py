"""Local connection API (same contract as SSH) and connect() selection."""
import os

import pytest

from labctl.connections import LocalConnection, SSHConnection, UnreachableError, connect


def test_connect_picks_kind():
    assert isinstance(connect({"ansible_connection": "local"}), LocalConnection)
    c = connect({"inventory_hostname": "n1", "ansible_host": "10.0.0.1", "ansible_port": 2222})
    assert isinstance(c, SSHConnection) and (c.address, c.port, c.user) == ("10.0.0.1", 2222, "root")
    with pytest.raises(UnreachableError, match="winrm"):
        connect({"ansible_connection": "winrm"})


def test_run_rc_stdout_stderr_stdin_env():
    c = LocalConnection()
    r = c.run("echo out; echo err >&2; exit 4")
    assert (r.rc, r.stdout, r.stderr) == (4, "out\n", "err\n")
    assert c.run("cat", stdin="x").stdout == "x"
    assert c.run("echo $V", env={"V": "1 2"}).stdout == "1 2\n"
    assert c.run("sleep 5", timeout=0.2).timed_out


def test_put_get_sha256(tmp_path):
    c = LocalConnection()
    p = str(tmp_path / "f")
    c.put(b"hello\n", p, mode="0640")
    assert c.get(p) == b"hello\n"
    assert oct(os.stat(p).st_mode & 0o777) == "0o640"
    assert c.sha256(p) == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert c.sha256(str(tmp_path / "missing")) is None
    c.put(b"again", p)  # mode kept when not given
    assert oct(os.stat(p).st_mode & 0o777) == "0o640"


def test_unreachable_ssh_names_host():
    c = connect({"inventory_hostname": "nohost", "ansible_host": "127.0.0.1", "ansible_port": 1,
                 "ansible_ssh_timeout": 2})
    with pytest.raises(UnreachableError) as ei:
        c.run("true")
    assert str(ei.value).startswith("nohost:") and "\n" not in str(ei.value)
