"""The engine over a real SSH connection.

Starts a throwaway sshd on 127.0.0.1 (own config, host key, authorized_keys in
a tmp dir; no PAM, StrictModes no), then runs a small playbook over SSH twice:
the first run changes things, the second reports 0 changed.
"""
import os
import shutil
import socket
import subprocess
import textwrap
import time

import pytest

from labctl.connections import UnreachableError, connect

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(SSHD) or not shutil.which("ssh-keygen"),
    reason="needs root, sshd and ssh-keygen")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# a throwaway sshd on loopback: no netns nodes, so no need to wait for the lab lock
USES_LAB = False


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    d = tmp_path_factory.mktemp("sshd")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client_key")], check=True)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "sshd_config").write_text(textwrap.dedent(f"""\
        ListenAddress 127.0.0.1
        Port {port}
        HostKey {d}/host_key
        AuthorizedKeysFile {d}/authorized_keys
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        StrictModes no
        PidFile none
        Subsystem sftp internal-sftp
        """))
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "w"))
    for _ in range(100):  # wait until it accepts connections (not a timed assertion)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("sshd exited: " + (d / "sshd.log").read_text())
            time.sleep(0.05)
    yield {"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "root",
           "ansible_ssh_private_key_file": str(d / "client_key"), "dir": d}
    proc.terminate()
    proc.wait(timeout=10)


def _hv(sshd, name="node1"):
    hv = {k: v for k, v in sshd.items() if k.startswith("ansible_")}
    hv["inventory_hostname"] = name
    return hv


@pytest.mark.parametrize("agent", [True, False], ids=["helper", "exec-per-command"])
def test_ssh_connection_api(sshd, tmp_path, agent):
    conn = connect(_hv(sshd))
    conn.use_agent = agent
    try:
        r = conn.run("echo out; echo err >&2; exit 3")
        assert (r.rc, r.stdout, r.stderr) == (3, "out\n", "err\n")
        assert conn.run("cat", stdin=b"abc").stdout == "abc"
        assert conn.run("echo $FOO", env={"FOO": "a b"}).stdout == "a b\n"
        big = conn.run("head -c 3000000 /dev/zero | tr '\\0' x; head -c 3000000 /dev/zero | tr '\\0' y >&2")
        assert len(big.stdout) == 3000000 and len(big.stderr) == 3000000
        target = str(tmp_path / "f.txt")
        conn.put(b"hello\n", target, mode="0600")
        assert conn.get(target) == b"hello\n"
        assert oct(os.stat(target).st_mode & 0o777) == "0o600"
        assert conn.sha256(target) == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        assert conn.sha256(str(tmp_path / "missing")) is None
        st = conn.stat(target, checksum=True)
        if agent:
            assert (st["type"], st["mode"], st["size"], st["sha256"]) == \
                ("file", 0o600, 6, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
            os.symlink(target, tmp_path / "ln")
            assert conn.stat(str(tmp_path / "ln"))["target"] == target
            assert conn.stat(str(tmp_path / "nope")) is None
            from labctl.connections import LocalConnection
            assert conn.tree(str(tmp_path)) == LocalConnection("h").tree(str(tmp_path))
            assert conn.tree(str(tmp_path))["f.txt"][4] == st["sha256"]
        else:
            assert st is NotImplemented and conn.tree(str(tmp_path)) is NotImplemented
        assert conn.run("sleep 5", timeout=0.3).timed_out
        assert conn.run("echo again").stdout == "again\n"   # usable after a timeout
    finally:
        conn.close()


PROGRAMS = [   # (program, args, (rc, stdout, stderr contains))
    ("import sys; print(sys.argv[1:])", ["a b", "c"], (0, "['a b', 'c']\n", "")),
    ("import sys; print('x'); sys.exit(3)", [], (3, "x\n", "")),
    ("import sys; sys.exit('bad input')", [], (1, "", "bad input")),
    ("raise ValueError('boom')", [], (1, "", "ValueError: boom")),
    ("import sys; sys.stderr.write('warn\\n'); print(__name__)", [], (0, "__main__\n", "warn")),
]


@pytest.mark.parametrize("agent", [True, False], ids=["helper", "exec-per-command"])
def test_run_python_on_the_host(sshd, agent):
    conn = connect(_hv(sshd))
    conn.use_agent = agent
    try:
        for program, args, (rc, out, err) in PROGRAMS:
            r = conn.run_python(program, args, timeout=30)
            assert (r.rc, r.stdout) == (rc, out), program
            assert err in r.stderr, (program, r.stderr)
        assert conn.run("echo still").stdout == "still\n"    # the helper survives them all
    finally:
        conn.close()


def test_ssh_unreachable_names_host(sshd):
    hv = _hv(sshd, "ghost")
    hv["ansible_port"] = _free_port()
    with pytest.raises(UnreachableError) as ei:
        connect(hv).run("true")
    assert "ghost" in str(ei.value) and "\n" not in str(ei.value)


PLAYBOOK = """\
- name: over ssh
  hosts: nodes
  gather_facts: true
  tasks:
    - name: directory
      file: {path: "{{ base }}/{{ inventory_hostname }}", state: directory, mode: "0755"}
    - name: template
      template: {src: node.conf.j2, dest: "{{ base }}/{{ inventory_hostname }}/node.conf", mode: "0640"}
      notify: bump
    - name: copy
      copy: {content: "{{ inventory_hostname }}\\n", dest: "{{ base }}/{{ inventory_hostname }}/name"}
    - name: command with creates
      command: "touch {{ base }}/{{ inventory_hostname }}/stamp"
      args: {creates: "{{ base }}/{{ inventory_hostname }}/stamp"}
    - name: read back
      slurp: {src: "{{ base }}/{{ inventory_hostname }}/name"}
      register: name_file
    - name: check
      assert:
        that:
          - (name_file.content | b64decode | trim) == inventory_hostname
          - ansible_hostname | length > 0
    - name: sshd port is open (from the managed host)
      wait_for: {host: 127.0.0.1, port: "{{ ansible_port }}", timeout: 10}
    - name: local side
      copy: {content: "x", dest: "{{ base }}/local-{{ inventory_hostname }}"}
      delegate_to: localhost
  handlers:
    - name: bump
      shell: "echo bumped >> {{ base }}/{{ inventory_hostname }}/handler.log"
"""


def test_playbook_over_ssh_twice(sshd, tmp_path):
    from labctl.engine import run_playbook
    from labctl.inventory import load_inventory

    base = tmp_path / "managed"
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "node.conf.j2").write_text(
        "node={{ inventory_hostname }}\nport={{ ansible_port }}\n")
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    hv = {k: v for k, v in sshd.items() if k.startswith("ansible_")}
    inv = "all:\n  vars:\n" + "".join(f"    {k}: {v}\n" for k, v in hv.items()) + \
        f"    base: {base}\n  children:\n    nodes:\n      hosts:\n        n[1:2]:\n"
    (tmp_path / "hosts.yml").write_text(inv)
    results = []
    for _ in range(2):
        events = []
        res = run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"),
                           callback=events.append)
        assert res.ok, [e for e in events if e.get("status") == "failed"]
        results.append(res)
    first, second = results
    assert first.stats["n1"]["changed"] == 6      # dir, template, copy, command, local copy, handler
    assert second.changed == 0
    assert (base / "n2" / "node.conf").read_text() == f"node=n2\nport={hv['ansible_port']}\n"
    assert (base / "n1" / "handler.log").read_text() == "bumped\n"
    assert oct((base / "n1" / "node.conf").stat().st_mode & 0o777) == "0o640"
