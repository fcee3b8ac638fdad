"""The engine on real netns nodes, and against ansible-playbook.

- A playbook (the benchmark's role: file/copy/template/command/lineinfile/stat/assert
  and handlers) run twice by labctl on netns nodes: the second run reports 0 changed.
- The same playbook run by ansible-playbook on the same nodes (each tool into its own
  directory): the same changes per host, first run and rerun, and the same files.
- The shipped roles: the part of site.yml that uses only modules both tools share —
  the "Prepare every node" play (common, pki, install) and the masters' storage role —
  run by each tool on a fresh netns lab (3 nodes, the default inventory), then rerun:
  the same PLAY RECAP per host, the same files (content, mode) on the nodes, and 0
  changed on the rerun for both.

Why not all of site.yml: the later roles start their services with `service`, which on
netns nodes drives the node supervisor (`labnode-svc`); Ansible's service module does not
know it (it looks for systemd/sysvinit), and everything after the first service
(wait_for on ports, uri health checks) depends on the services running. So the
comparison stops where the roles' first service task would run; the playbook is written
here and pulls the shipped roles by name (ANSIBLE_ROLES_PATH, which labctl honours too),
so the roles are compared unchanged. `pki` is labctl's own module: Ansible runs
library/pki.py, which calls the same labctl.pki.

The module holds the machine's lab lock (conftest), so no other lab comes up meanwhile;
the bench-role tests share one pair of nodes. ansible-core missing: those tests are
skipped (it is in the `test` extra).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNER = Path("/run/labctl/netns-owner")
_spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
needs_ansible = pytest.mark.skipif(not os.path.exists(bench.ANSIBLE), reason="ansible-core not installed "
                                   "(pip install ansible-core to run the compatibility tests)")
BENCH_HOSTS = [("bench1", "10.200.0.10"), ("bench2", "10.200.0.11")]

SNAPSHOT = r"""
import hashlib, json, os, sys
out = {}
# made for each node set by the netns provider (host keys, authorized keys), not by the roles
NODE_OWN = ("/etc/labkube/ssh",)
for base in sys.argv[1:]:
    for d, dirs, files in os.walk(base):
        dirs[:] = sorted(x for x in dirs if x not in ("venv", "uv-cache", "__pycache__")
                         and os.path.join(d, x) not in NODE_OWN)
        out[d] = ["dir", oct(os.stat(d).st_mode & 0o7777)]
        for f in sorted(files):
            p = os.path.join(d, f)
            st = os.lstat(p)
            keep = not f.endswith((".crt", ".key"))   # each tool's run issues its own CA
            data = open(p, "rb").read() if keep else b""
            out[p] = ["file", oct(st.st_mode & 0o7777), hashlib.sha256(data).hexdigest()[:16]]
print(json.dumps(out))
"""


class NodeSets:
    """At most one set of netns nodes at a time (one lab fits on the machine): asking for
    another label removes the current set first; everything is removed at the end."""

    def __init__(self, base: Path):
        self.base, self.label, self.provider, self.key = base, None, None, None

    def get(self, label: str, specs) -> Path:
        """The SSH key of the node set `label` (made now unless it is the current one)."""
        from labctl.providers.netns import NetnsProvider
        if label != self.label:
            self.close()
            if OWNER.exists():
                pytest.fail(f"another lab ({OWNER.read_text().strip()}) is up although this module "
                            f"holds the lab lock: was it started without `flock /run/lock/labctl-lab.lock`?")
            self.provider = NetnsProvider(self.base / f"nodes-{label}", subnet=bench.SUBNET)
            self.key = Path(self.provider.create(specs)[0].private_key_file)
            self.label = label
        return self.key

    def close(self):
        if self.provider is not None:
            self.provider.destroy()
        self.label = self.provider = self.key = None


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    sets = NodeSets(tmp_path_factory.mktemp("compat"))
    yield sets
    sets.close()


def _specs(n):
    from labctl.providers.base import NodeSpec
    return [NodeSpec(f"bench{i + 1}", f"10.200.0.{bench.BASE + i}") for i in range(n)]


def _ssh(key, address, argv, stdin=None):
    p = subprocess.run(["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                        "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"root@{address}", *argv],
                       input=stdin, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def _differences(l_files, a_files, limit=30) -> str:
    """The paths whose entries differ between two snapshots, one line each (labctl | ansible)."""
    lines = []
    for host in sorted(set(l_files) | set(a_files)):
        left, right = l_files.get(host, {}), a_files.get(host, {})
        for path in sorted(set(left) | set(right)):
            if left.get(path) != right.get(path):
                lines.append(f"{host} {path}: labctl {left.get(path)} | ansible {right.get(path)}")
    return "\n".join(lines[:limit]) + (f"\n... {len(lines) - limit} more" if len(lines) > limit else "")


def _snapshot(key, addresses, bases):
    return {a: json.loads(_ssh(key, a, ["/usr/bin/python3", "-", *bases], stdin=SNAPSHOT)) for a in addresses}


def _bench_inventory(tmp_path, key):
    return bench.write_inventory(tmp_path / "play", BENCH_HOSTS, key)


def test_playbook_twice_on_netns_nodes_second_run_changes_nothing(tmp_path, nodes):
    from labctl.engine import run_playbook
    from labctl.inventory import load_inventory
    key = nodes.get("bench", _specs(2))
    book = bench.write_role(tmp_path / "play", 24)
    inv = load_inventory(_bench_inventory(tmp_path, key))
    extra = {"bench_dir": "/var/lib/labkube/twice"}
    first = run_playbook(book, inv, extra_vars=extra, callback=lambda ev: None)
    assert first.ok and first.changed > 0, first.stats
    events = []
    second = run_playbook(book, inv, extra_vars=extra, callback=events.append)
    assert second.ok, second.stats
    assert second.changed == 0, [(e["host"], e["task"]) for e in events
                                 if e["event"] == "host_result" and e["result"].get("changed")]
    assert all(s["ok"] > 0 and s["changed"] == 0 for s in second.stats.values())
    listing = _ssh(key, "10.200.0.11", ["ls", "/var/lib/labkube/twice/etc", "/var/lib/labkube/twice/run"])
    assert "conf-0.ini" in listing and "restarted" in listing


@needs_ansible
@pytest.mark.timeout(1200)      # ansible-playbook pays a module start per task and host
def test_same_changes_as_ansible_playbook_on_netns_nodes(tmp_path, nodes):
    key = nodes.get("bench", _specs(2))
    book = bench.write_role(tmp_path / "play", 20)
    inv = _bench_inventory(tmp_path, key)
    results = {}
    for tool in ("labctl", "ansible"):      # the same nodes, each tool into its own directory
        base = f"/var/lib/labkube/compat-{tool}"
        runs = []
        for _ in range(2):
            try:
                runs.append(bench.run_tool(tool, book, inv, 10, {"bench_dir": base}, tmp_path)[1])
            except SystemExit as exc:     # the bench's run_tool exits on a failed run
                pytest.fail(str(exc))
        snap = _snapshot(key, [a for _, a in BENCH_HOSTS], [base])
        results[tool] = (runs, {a: {p.replace(base, "{dir}"): v for p, v in files.items()}
                                for a, files in snap.items()})
    (l_runs, l_files), (a_runs, a_files) = results["labctl"], results["ansible"]
    assert l_runs[0] == a_runs[0], f"first run: labctl {l_runs[0]} ansible {a_runs[0]}"
    assert l_runs[1] == a_runs[1], f"rerun: labctl {l_runs[1]} ansible {a_runs[1]}"
    assert all(v[1] == 0 for v in l_runs[1].values())
    assert all("{dir}/etc/conf-1.ini" in files and "{dir}/run/restarted" in files for files in l_files.values())
    assert l_files == a_files, _differences(l_files, a_files)


@needs_ansible
@pytest.mark.timeout(2400)      # two fresh 3-node labs, install role (wheelhouse, uv) by each tool
def test_shipped_roles_same_changes_as_ansible_playbook(tmp_path, nodes):
    from labctl import artifacts
    from labctl.lab import Lab
    lab = Lab(ROOT / "inventories" / "local")
    specs = lab.node_specs()
    addresses = [s.address for s in specs]
    book = tmp_path / "roles-compat.yml"
    book.write_text("- name: Prepare every node\n  hosts: all\n  gather_facts: false\n"
                    "  roles: [common, pki, install]\n"
                    "- name: Control plane storage\n  hosts: masters\n  gather_facts: false\n"
                    "  roles: [storage]\n")
    # pki is delegated to the implicit localhost, whose Python is ansible-playbook's own
    # (labctl's virtualenv here), so library/pki.py can import labctl.pki
    # built before any node exists (it may take minutes when the sources changed)
    wheelhouse, uv = str(artifacts.wheelhouse()), str(artifacts.uv_binary())
    base_env = {"ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_LIBRARY": str(ROOT / "library")}
    results = {}
    for tool in ("labctl", "ansible"):
        key = nodes.get(f"roles-{tool}", specs)     # fresh nodes: the roles write fixed paths
        extra = {"lab_state_dir": str(tmp_path / f"{tool}-state"),
                 "labctl_wheelhouse": wheelhouse, "labctl_uv": uv,
                 "ansible_ssh_private_key_file": str(key)}
        runs = []
        for _ in range(2):
            if tool == "labctl":
                cmd = [sys.executable, "-m", "labctl.cli.main", "play", "-i", str(ROOT / "inventories/local"),
                       "-e", json.dumps(extra), str(book)]
                env = dict(os.environ, CI="true", LABCTL_STATE_DIR=str(tmp_path / "labctl-cli"), **base_env)
            else:
                cmd = [bench.ANSIBLE, "-i", str(ROOT / "inventories/local"),
                       "-e", json.dumps(extra), str(book)]
                env = dict(bench.ansible_env(tmp_path), **base_env)
            p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
            assert p.returncode == 0, f"{tool}:\n{(p.stdout + p.stderr)[-4000:]}"
            runs.append(bench.recap(p.stdout))
        results[tool] = (runs, _snapshot(key, addresses, ["/etc/labkube", "/var/lib/labkube"]))
    (l_runs, l_files), (a_runs, a_files) = results["labctl"], results["ansible"]
    assert l_runs[0] == a_runs[0], f"first run: labctl {l_runs[0]} ansible {a_runs[0]}"
    assert l_runs[1] == a_runs[1], f"rerun: labctl {l_runs[1]} ansible {a_runs[1]}"
    assert all(v[1] == 0 for v in l_runs[1].values()), l_runs[1]
    assert l_files == a_files, _differences(l_files, a_files)
