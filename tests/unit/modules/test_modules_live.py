"""Modules that talk to something live: service (fake labnode-svc), wait_for on a port, uri, apt, pip."""
import http.server
import json
import os
import socket
import stat
import sys
import threading

import pytest

import labctl.modules.service as service_mod
from modharness import run_module

FAKE_SVC = r"""#!/bin/sh
# fake labnode-svc: state in $STATE/<name>.{active,enabled}; logs verbs to $STATE/log
STATE=%(state)s
verb=$1; name=$2
echo "$verb $name" >> $STATE/log
case $verb in
  start|restart) echo 1 > $STATE/$name.active ;;
  stop) rm -f $STATE/$name.active ;;
  enable) echo 1 > $STATE/$name.enabled ;;
  disable) rm -f $STATE/$name.enabled ;;
  reload|daemon-reload) ;;
  status)
    a=false; e=false; p=null
    [ -f $STATE/$name.active ] && a=true && p=4242
    [ -f $STATE/$name.enabled ] && e=true
    echo "{\"name\": \"$name\", \"active\": $a, \"pid\": $p, \"enabled\": $e, \"restarts\": 0}" ;;
esac
"""


@pytest.fixture
def fake_labnode(tmp_path, monkeypatch):
    state = tmp_path / "svcstate"
    state.mkdir()
    exe = tmp_path / "labnode-svc"
    exe.write_text(FAKE_SVC % {"state": state})
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(service_mod, "LABNODE", str(exe))
    return state


def _log(state):
    p = state / "log"
    return [l for l in p.read_text().splitlines() if not l.startswith("status")] if p.exists() else []


def test_service_started_enabled_idempotent(fake_labnode, tmp_path):
    r1 = run_module("service", {"name": "apiserver", "state": "started", "enabled": True}, tmp_path)
    assert r1["changed"] and r1["manager"] == "labnode" and r1["status"]["active"] is True
    assert _log(fake_labnode) == ["enable apiserver", "start apiserver"]
    r2 = run_module("service", {"name": "apiserver", "state": "started", "enabled": True}, tmp_path)
    assert r2["changed"] is False
    assert _log(fake_labnode) == ["enable apiserver", "start apiserver"]


def test_service_already_running_costs_one_command(fake_labnode, tmp_path, monkeypatch):
    from labctl.connections import LocalConnection
    run_module("service", {"name": "k", "state": "started", "enabled": True}, tmp_path)
    commands = []
    real_run = LocalConnection.run
    monkeypatch.setattr(LocalConnection, "run", lambda self, cmd, **kw: commands.append(cmd) or real_run(self, cmd, **kw))
    r = run_module("service", {"name": "k", "state": "started", "enabled": True}, tmp_path)
    assert r["changed"] is False and r["status"]["active"] is True and r["manager"] == "labnode"
    assert len(commands) == 1


FAKE_SVC_PY = """#!/usr/bin/python3
# fake labnode-svc in Python, as the node's real one (run inside the command helper)
import json, os, sys
state = %(state)r
verb, name = sys.argv[1], sys.argv[2]
flag = os.path.join(state, name + ".active")
if verb == "start":
    open(flag, "w").close()
    open(os.path.join(state, "log"), "a").write("start " + name + chr(10))
print(json.dumps({"name": name, "active": os.path.exists(flag), "enabled": True}))
"""


def test_service_with_labnode_svc_written_in_python(tmp_path, monkeypatch):
    state = tmp_path / "svcstate"
    state.mkdir()
    exe = tmp_path / "labnode-svc"
    exe.write_text(FAKE_SVC_PY % {"state": str(state)})
    exe.chmod(0o755)
    monkeypatch.setattr(service_mod, "LABNODE", str(exe))
    assert run_module("service", {"name": "k", "state": "started"}, tmp_path)["changed"]
    r = run_module("service", {"name": "k", "state": "started"}, tmp_path)
    assert r["changed"] is False and r["manager"] == "labnode" and r["status"]["active"] is True
    assert _log(state) == ["start k"]


def test_service_restart_always_changes_and_stop(fake_labnode, tmp_path):
    run_module("service", {"name": "k", "state": "started"}, tmp_path)
    assert run_module("service", {"name": "k", "state": "restarted"}, tmp_path)["changed"]
    assert run_module("service", {"name": "k", "state": "stopped"}, tmp_path)["changed"]
    assert not run_module("service", {"name": "k", "state": "stopped"}, tmp_path)["changed"]
    assert _log(fake_labnode) == ["start k", "restart k", "stop k"]


def test_service_reloaded_and_daemon_reload(fake_labnode, tmp_path):
    r = run_module("service", {"name": "k", "state": "reloaded", "daemon_reload": True}, tmp_path)
    assert r["changed"]                       # not running: reloaded starts it
    r = run_module("service", {"name": "k", "state": "reloaded"}, tmp_path)
    assert r["changed"]
    assert _log(fake_labnode) == ["daemon-reload ", "start k", "reload k"]


def test_service_check_mode_does_nothing(fake_labnode, tmp_path):
    r = run_module("service", {"name": "k", "state": "started"}, tmp_path, check=True)
    assert r["changed"] is True
    assert _log(fake_labnode) == []


FAKE_SYSTEMCTL = r"""#!/bin/sh
# fake systemctl: $STATE/<unit>.{active,enabled}; the unit file $STATE/units/<unit>.service
# is "loaded" once daemon-reload copied it to $STATE/loaded/; verbs go to $STATE/log
STATE=%(state)s
echo "$*" >> $STATE/log
[ "$1" = --no-reload ] && shift
case $1 in
  daemon-reload) rm -rf $STATE/loaded; cp -r $STATE/units $STATE/loaded ;;
  show)
    [ "$2 $3" = "-p LoadState,NeedDaemonReload,ActiveState" ] || { echo "fake: show $*" >&2; exit 2; }
    f=$STATE/units/$4.service; l=$STATE/loaded/$4.service
    if [ -f "$l" ]; then echo LoadState=loaded; else echo LoadState=not-found; fi
    if [ -f "$l" ] && ! cmp -s "$f" "$l"; then echo NeedDaemonReload=yes; else echo NeedDaemonReload=no; fi
    [ -f $STATE/$4.active ] && echo ActiveState=active || echo ActiveState=inactive ;;
  start|restart) [ -f $STATE/loaded/$2.service ] || exit 5; echo 1 > $STATE/$2.active ;;
  enable) echo 1 > $STATE/$2.enabled ;;
  is-active) [ -f $STATE/$2.active ] && echo active || { echo inactive; exit 3; } ;;
  is-enabled) [ -f $STATE/$2.enabled ] && echo enabled || { echo disabled; exit 1; } ;;
esac
"""


@pytest.fixture
def fake_systemd(tmp_path, monkeypatch):
    state = tmp_path / "systemd"
    (state / "units").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "systemctl"
    exe.write_text(FAKE_SYSTEMCTL % {"state": state})
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(service_mod, "LABNODE", str(tmp_path / "no-labnode-svc"))
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return state


def _verbs(state):
    return [l for l in (state / "log").read_text().splitlines()
            if l.split()[0] not in ("show", "is-active", "is-enabled")]


def test_systemd_service_reloads_systemd_for_a_new_or_changed_unit_file(fake_systemd, tmp_path):
    unit = fake_systemd / "units" / "k.service"
    unit.write_text("[Service]\nExecStart=/bin/k\n")
    r = run_module("service", {"name": "k", "state": "started", "enabled": True}, tmp_path)
    assert r["manager"] == "systemd" and r["changed"] and not r["failed"]
    # enabling needs no reload of its own: the unit was loaded by the daemon-reload before
    assert _verbs(fake_systemd) == ["daemon-reload", "--no-reload enable k", "start k"]
    run_module("service", {"name": "k", "state": "started"}, tmp_path)      # nothing new
    assert _verbs(fake_systemd) == ["daemon-reload", "--no-reload enable k", "start k"]
    unit.write_text("[Service]\nExecStart=/bin/k --new\n")
    run_module("service", {"name": "k", "state": "restarted"}, tmp_path)
    assert _verbs(fake_systemd)[3:] == ["daemon-reload", "restart k"]


def test_systemd_service_reads_the_state_once_and_runs_the_actions_in_one_command(fake_systemd, tmp_path):
    """One command reads the load, reload, active and enabled states; the actions and the
    read of the result go in one command (each round trip is slow on emulated VMs)."""
    unit = fake_systemd / "units" / "k.service"
    unit.write_text("[Service]\nExecStart=/bin/k\n")
    r = run_module("service", {"name": "k", "state": "started", "enabled": True}, tmp_path)
    assert r["status"]["active"] and r["status"]["enabled"] and r["changed"]
    log = (fake_systemd / "log").read_text().splitlines()
    show = ["show -p LoadState,NeedDaemonReload,ActiveState k", "is-enabled k"]
    assert log == [*show, "daemon-reload", *show, "--no-reload enable k", "start k", *show]
    (fake_systemd / "log").write_text("")
    r = run_module("service", {"name": "k", "state": "started", "enabled": True}, tmp_path)
    assert not r["changed"] and (fake_systemd / "log").read_text().splitlines() == show


def test_systemd_service_failure_names_the_actions_and_the_error(fake_systemd, tmp_path):
    """A unit systemd cannot load (no file even after the reload): start fails, with its error."""
    r = run_module("service", {"name": "nope", "state": "started", "enabled": True}, tmp_path)
    assert r["failed"] and r["msg"].startswith("systemctl enable/start nope failed: ")


def test_wait_for_port(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.getsockname()[1]
    try:
        r = run_module("wait_for", {"host": "127.0.0.1", "port": port, "timeout": 10}, tmp_path)
        assert r["failed"] is False and r["changed"] is False and r["port"] == port
    finally:
        srv.close()
    r = run_module("wait_for", {"host": "127.0.0.1", "port": port, "state": "stopped", "timeout": 10},
                   tmp_path)
    assert r["failed"] is False
    r = run_module("wait_for", {"host": "127.0.0.1", "port": port, "timeout": 0.3, "sleep": 0.1}, tmp_path)
    assert r["failed"] is True and f"127.0.0.1:{port}" in r["msg"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_uri_local_and_refuses_outside(tmp_path):
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{srv.server_port}"
        r = run_module("uri", {"url": base + "/healthz", "return_content": True}, tmp_path)
        assert r["status"] == 200 and r["json"] == {"path": "/healthz"} and not r["failed"]
        r = run_module("uri", {"url": base + "/missing"}, tmp_path)
        assert r["failed"] and r["status"] == 404
        r = run_module("uri", {"url": base + "/missing", "status_code": [200, 404]}, tmp_path)
        assert not r["failed"]
    finally:
        srv.shutdown()
    r = run_module("uri", {"url": "https://example.com/"}, tmp_path)
    assert r["failed"] and "not a lab address" in r["msg"]


@pytest.mark.skipif(not os.path.exists("/usr/bin/dpkg-query"), reason="needs dpkg")
def test_apt_installed_package_is_ok(tmp_path):
    r = run_module("apt", {"name": ["bash", "coreutils"], "state": "present"}, tmp_path)
    assert r["changed"] is False and not r["failed"]
    r = run_module("apt", {"name": "surely-not-a-package-xyz", "state": "absent"}, tmp_path)
    assert r["changed"] is False


def test_pip_present_is_ok(tmp_path):
    r = run_module("pip", {"name": ["PyYAML", "jinja2"], "executable": f"{sys.executable} -m pip"}, tmp_path)
    assert r["changed"] is False and not r["failed"]
    r = run_module("pip", {"name": "pyyaml==0.0.1", "executable": f"{sys.executable} -m pip"}, tmp_path,
                   check=True)
    assert r["changed"] is True
