#!/usr/bin/env python3
"""Benchmark the engine: the same playbook run by `labctl play` and by `ansible-playbook`.

Makes throwaway netns nodes (NetnsProvider, the lab's subnet), writes a role of 50
tasks (file/copy/template/command/lineinfile, two handlers) and runs it with each
tool (same forks, same inventory, each into its own directory on the nodes): a first
run that changes everything, then a no-change rerun. Then, unless --quick or
--no-site, stands the real lab up and times a no-change rerun of site.yml (3 nodes).
Prints a one-line summary, or one JSON object with --json:

  bench/engine.py --json           10 nodes, 50 tasks, plus the site.yml rerun
  bench/engine.py --quick --json   2 nodes, 4 tasks, no site.yml (under a minute)
  bench/engine.py --site-only      only the site.yml reruns

ansible-playbook runs with pipelining, SSH ControlPersist and no fact gathering
(its fastest ordinary settings). Only one lab may be up on the machine at a time: the
bench holds the machine's lab lock (/run/lock/labctl-lab.lock, as the integration tests
do; it also runs under `flock` on that file) and removes its nodes and lab at the end,
also when it fails or gets SIGTERM. site_rerun_s is the median of three no-change
`labctl play site.yml` runs (each one listed in site_reruns_s; site_rerun_engine_s is
the engine's own time in each, without the process start); load_avg_1m_* is the
machine's load when the bench started and ended (timings depend on it).
Goal (issue 5): labctl >= 5x faster on both runs; site.yml rerun on 3 nodes < 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBNET = "10.200.0.0/24"
BASE = 10        # first node address: 10.200.0.10
ANSIBLE = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")


# ---- the playbook ---------------------------------------------------------------------
def write_role(root: Path, tasks: int = 50) -> Path:
    """Write bench.yml + roles/bench (about `tasks` tasks, a realistic mix); return bench.yml.

    Everything goes under {{ bench_dir }} (on netns nodes, under /var/lib/labkube, which
    is private to each node). A rerun changes nothing.
    """
    role = root / "roles" / "bench"
    for d in ("tasks", "handlers", "templates", "files", "defaults"):
        (role / d).mkdir(parents=True, exist_ok=True)
    (role / "defaults" / "main.yml").write_text(
        "bench_dir: /var/lib/labkube/bench\nbench_port: 8080\n"
        "bench_peers: \"{{ groups['all'] }}\"\n")
    n = max(-(-(tasks - 3) // 9), 1)   # tasks per kind: 3 single tasks and 9 kinds of n cover `tasks`
    t = [
        "- name: Create the bench directory\n  file: {path: \"{{ bench_dir }}\", state: directory, mode: '0755'}\n",
        "- name: Create the sub-directories\n  file: {path: \"{{ bench_dir }}/{{ item }}\", state: directory, mode: '0755'}\n"
        "  loop: [etc, data, log, bin, run]\n",
    ]
    for i in range(n):
        t.append(f"- name: Write setting {i}\n  copy:\n    dest: \"{{{{ bench_dir }}}}/etc/setting-{i}.conf\"\n"
                 f"    content: \"setting{i}={{{{ inventory_hostname }}}}\\n\"\n    mode: '0644'\n"
                 f"  notify: restart bench\n")
    for i in range(n):
        (role / "files" / f"static-{i}.txt").write_text(f"static file {i}\n" + "x" * 2000 * (i + 1) + "\n")
        t.append(f"- name: Copy static file {i}\n  copy: {{src: static-{i}.txt, dest: \"{{{{ bench_dir }}}}/data/static-{i}.txt\", mode: '0644'}}\n")
    for i in range(n):
        (role / "templates" / f"conf-{i}.j2").write_text(
            f"# managed by the bench ({i})\nhost = {{{{ inventory_hostname }}}}\nport = {{{{ bench_port + {i} }}}}\n"
            "{% for p in bench_peers %}peer = {{ p }}\n{% endfor %}"
            "upper = {{ inventory_hostname | upper }}\n")
        t.append(f"- name: Render config {i}\n  template: {{src: conf-{i}.j2, dest: \"{{{{ bench_dir }}}}/etc/conf-{i}.ini\", mode: '0640'}}\n"
                 f"  notify: reload bench\n")
    t.append("- name: Seed the main config\n  copy: {dest: \"{{ bench_dir }}/etc/main.conf\", content: \"# main\\n\", force: false}\n")
    for i in range(n):
        t.append(f"- name: Set option {i}\n  lineinfile: {{path: \"{{{{ bench_dir }}}}/etc/main.conf\", regexp: '^opt{i}=', line: 'opt{i}={i * 7}'}}\n")
    for i in range(n):
        t.append(f"- name: Generate data {i}\n  command: \"dd if=/dev/zero of={{{{ bench_dir }}}}/data/blob-{i} bs=1k count={i + 1}\"\n"
                 f"  args: {{creates: \"{{{{ bench_dir }}}}/data/blob-{i}\"}}\n")
    for i in range(n):
        t.append(f"- name: Check data {i}\n  command: \"wc -c {{{{ bench_dir }}}}/data/blob-{i}\"\n"
                 f"  register: wc{i}\n  changed_when: false\n")
    for i in range(n):
        t.append(f"- name: Stat config {i}\n  stat: {{path: \"{{{{ bench_dir }}}}/etc/conf-{i}.ini\"}}\n  register: st{i}\n")
    for i in range(n):
        t.append(f"- name: Script {i}\n  file: {{path: \"{{{{ bench_dir }}}}/bin/tool-{i}\", state: touch, mode: '0755',"
                 f" modification_time: preserve, access_time: preserve}}\n")
    for i in range(n):
        t.append(f"- name: Check config {i}\n  assert: {{that: [\"st{i}.stat.exists\", \"wc{i}.stdout is search('blob')\"]}}\n")
    # exactly `tasks` tasks: later kinds (asserts, stats...) go first; each task only
    # depends on earlier ones
    (role / "tasks" / "main.yml").write_text("\n".join(t[:tasks]))
    (role / "handlers" / "main.yml").write_text(
        "- name: restart bench\n  command: \"touch {{ bench_dir }}/run/restarted\"\n"
        "- name: reload bench\n  command: \"touch {{ bench_dir }}/run/reloaded\"\n")
    book = root / "bench.yml"
    book.write_text("- name: Bench\n  hosts: all\n  gather_facts: false\n  roles: [bench]\n")
    return book


def write_inventory(root: Path, nodes: list[tuple[str, str]], key: Path) -> Path:
    """An Ansible YAML inventory both tools read: the nodes over SSH as root."""
    lines = ["all:", "  vars:", "    ansible_user: root", f"    ansible_ssh_private_key_file: {key}",
             "    ansible_python_interpreter: /usr/bin/python3", "  hosts:"]
    lines += [f"    {name}: {{ansible_host: {addr}}}" for name, addr in nodes]
    inv = root / "hosts.yml"
    inv.write_text("\n".join(lines) + "\n")
    return inv


# ---- running the two tools ------------------------------------------------------------
def ansible_env(tmp: Path) -> dict:
    return dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True",
                ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=120s "
                                 "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                ANSIBLE_CONTROL_PATH_DIR=str(tmp / "cp"), ANSIBLE_LOCAL_TEMP=str(tmp / "atmp"),
                ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_CONFIG=str(tmp / "none.cfg"))


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(text: str) -> dict:
    """{host: (ok, changed, unreachable, failed)} from a PLAY RECAP (either tool)."""
    return {m[1]: tuple(int(x) for x in m.groups()[1:]) for m in RECAP.finditer(text)}


def run_tool(tool: str, book: Path, inv: Path, forks: int, extra: dict, tmp: Path,
             args: list[str] = ()) -> tuple[float, dict, str]:
    """Run one tool once; (seconds, recap, output). Exits the bench if the run failed."""
    ev = json.dumps(extra)
    if tool == "labctl":
        cmd = [sys.executable, "-m", "labctl.cli.main", "play", "-i", str(inv), "-f", str(forks), "-e", ev,
               *args, str(book)]
        env = dict(os.environ, CI="true", LABCTL_STATE_DIR=str(tmp / "labctl-state"))
    else:
        cmd = [ANSIBLE, "-i", str(inv), "-f", str(forks), "-e", ev, *args, str(book)]
        env = ansible_env(tmp)
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=book.parent, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    out = p.stdout + p.stderr
    if p.returncode != 0:
        hint = " (unreachable: did another lab's up/down remove the nodes?)" if p.returncode == 4 else ""
        sys.exit(f"bench: {tool} failed (exit {p.returncode}){hint}:\n{out[-3000:]}")
    return elapsed, recap(p.stdout), out


def _changed(rc: dict) -> int:
    return sum(v[1] for v in rc.values())


def wait_for_free_machine(timeout: float = 900) -> None:
    """Only one lab at a time: wait (up to `timeout` s) while another lab owns the namespaces."""
    from labctl.providers.netns import OWNER_FILE
    deadline = time.monotonic() + timeout
    if OWNER_FILE.exists():
        progress(f"waiting for another lab ({OWNER_FILE.read_text().strip()}) to go away")
    while OWNER_FILE.exists():
        if time.monotonic() > deadline:
            sys.exit(f"bench: another lab ({OWNER_FILE.read_text().strip()}) is still up; try later")
        time.sleep(5)


def still_ours(provider) -> None:
    """Exit when another lab took the namespaces over during a run (its numbers are void)."""
    from labctl.providers.netns import OWNER_FILE
    owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else ""
    if owner != str(provider.state_dir):
        sys.exit(f"bench: another lab ({owner or 'gone'}) replaced the bench nodes during the run; "
                 f"run the bench again when the machine is free")


def progress(msg: str) -> None:
    """Progress on stderr (stdout is the result)."""
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def netns_nodes(state: Path, count: int):
    """Create `count` netns nodes; returns (provider, [(name, address)], key)."""
    from labctl.providers.base import NodeSpec
    from labctl.providers.netns import NetnsProvider
    wait_for_free_machine()
    provider = NetnsProvider(state, subnet=SUBNET)
    specs = [NodeSpec(f"bench{i + 1}", f"10.200.0.{BASE + i}") for i in range(count)]
    eps = provider.create(specs)
    return provider, [(s.name, e.host) for s, e in zip(specs, eps)], Path(eps[0].private_key_file)


def engine_bench(tmp: Path, nodes: int, tasks: int, forks: int) -> dict:
    book = write_role(tmp / "play", tasks)
    provider, hosts, key = netns_nodes(tmp / "nodes", nodes)
    try:
        inv = write_inventory(tmp / "play", hosts, key)
        ntasks = sum(1 for line in (book.parent / "roles/bench/tasks/main.yml").read_text().splitlines()
                     if line.startswith("- name:"))
        out = {"nodes": nodes, "tasks": ntasks, "forks": forks}
        for tool in ("labctl", "ansible"):
            extra = {"bench_dir": f"/var/lib/labkube/bench-{tool}"}
            first, rc1, _ = run_tool(tool, book, inv, forks, extra, tmp)
            still_ours(provider)
            rerun, rc2, _ = run_tool(tool, book, inv, forks, extra, tmp)
            still_ours(provider)
            out[f"{tool}_first_s"] = round(first, 2)
            out[f"{tool}_rerun_s"] = round(rerun, 2)
            out[f"{tool}_first_changed"] = _changed(rc1)
            out[f"{tool}_rerun_changed"] = _changed(rc2)
            progress(f"{tool}: first run {first:.2f} s ({_changed(rc1)} changed), "
                     f"rerun {rerun:.2f} s ({_changed(rc2)} changed)")
        out["speedup_first"] = round(out["ansible_first_s"] / out["labctl_first_s"], 1)
        out["speedup_rerun"] = round(out["ansible_rerun_s"] / out["labctl_rerun_s"], 1)
        return out
    finally:
        provider.destroy()


def site_bench(tmp: Path, reruns: int = 3) -> list[float]:
    """`labctl up` the default lab, then time no-change `labctl play site.yml` runs; down.

    Each rerun is the whole command as a user types it (process start, inventory, SSH
    connections, every task's check). smoke.yml is not part of it (`labctl up` runs it
    after site.yml). Returns the seconds of each rerun.
    """
    env = dict(os.environ, CI="true", LABCTL_STATE_DIR=str(tmp / "site-state"))
    lab = [sys.executable, "-m", "labctl.cli.main"]
    wait_for_free_machine()
    times = []
    try:
        p = subprocess.run(lab + ["up"], cwd=ROOT, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench: labctl up failed:\n{(p.stdout + p.stderr)[-3000:]}")
        # the wheelhouse is rebuilt whenever a source file changes; in a checkout others edit
        # meanwhile that would be a real change, so the reruns use a copy taken now (one
        # untimed run installs it if the sources changed since `up`)
        from labctl import artifacts
        pinned = tmp / "wheelhouse"
        shutil.copytree(artifacts.wheelhouse(), pinned)
        play = lab + ["play", "-i", "inventories/local", "-e", json.dumps({"labctl_wheelhouse": str(pinned)}),
                      "--json", "site.yml"]
        subprocess.run(play, cwd=ROOT, env=env, capture_output=True, text=True)
        engine = []
        for _ in range(reruns):
            start = time.monotonic()
            p = subprocess.run(play, cwd=ROOT, env=env, capture_output=True, text=True)
            elapsed = time.monotonic() - start
            events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
            end = next((e for e in reversed(events) if e.get("event") == "recap"), None)
            if p.returncode != 0 or end is None or any(s["changed"] for s in end["stats"].values()):
                sys.exit(f"bench: site.yml rerun failed or changed something:\n{(p.stdout + p.stderr)[-3000:]}")
            times.append(round(elapsed, 2))
            engine.append(round(end["duration"], 2))
            slowest = sorted(_task_times(events), reverse=True)[:5]
            progress(f"site.yml rerun {elapsed:.2f} s (engine {end['duration']:.2f} s); slowest tasks: "
                     + ", ".join(f"{name} {secs:.2f}" for secs, name in slowest))
        progress(f"site.yml no-change reruns on 3 nodes: {times} s (engine: {engine} s)")
        return times, engine
    finally:
        subprocess.run(lab + ["down"], cwd=ROOT, env=env, capture_output=True)


def _task_times(events: list[dict]) -> list[tuple[float, str]]:
    """(seconds, task) for each task of a --json event stream: from its start to the next."""
    marks = [(e["ts"], e.get("task", "")) for e in events if e.get("event") in ("task_start", "recap")]
    return [(b[0] - a[0], a[1]) for a, b in zip(marks, marks[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="2 nodes, 4 tasks, no site.yml (< 1 min)")
    parser.add_argument("--nodes", type=int)
    parser.add_argument("--tasks", type=int)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--no-site", action="store_true", help="skip the site.yml reruns (they stand the default lab up)")
    parser.add_argument("--site-only", action="store_true", help="only the site.yml reruns (no ansible-playbook)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (it creates network namespaces)")
    if not os.path.exists(ANSIBLE) and not args.site_only:
        sys.exit("bench: ansible-playbook not found (pip install ansible-core into the venv)")
    nodes = args.nodes or (2 if args.quick else 10)
    tasks = args.tasks or (4 if args.quick else 50)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lablock import hold_lab_lock
    hold_lab_lock()
    tmp = Path(tempfile.mkdtemp(prefix="labctl-bench-"))
    try:
        result = {"load_avg_1m_start": round(os.getloadavg()[0], 1)}
        if args.site_only:
            result.update({k: None for k in ("labctl_first_s", "ansible_first_s", "labctl_rerun_s",
                                             "ansible_rerun_s", "speedup_first", "speedup_rerun")},
                          nodes=3, tasks=None, forks=None)
        else:
            result.update(engine_bench(tmp, nodes, tasks, args.forks))
        if args.quick or args.no_site:
            result["site_rerun_s"] = None
        else:
            reruns, engine = site_bench(tmp)
            result["site_rerun_s"] = sorted(reruns)[len(reruns) // 2]    # the median
            result["site_reruns_s"] = reruns
            result["site_rerun_engine_s"] = engine       # the engine's own time (no process start)
        result["load_avg_1m_end"] = round(os.getloadavg()[0], 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    parts = []
    if result["labctl_first_s"] is not None:
        parts.append(f"{result['nodes']} nodes x {result['tasks']} tasks, forks {result['forks']}: "
                     f"first run labctl {result['labctl_first_s']} s vs ansible {result['ansible_first_s']} s "
                     f"({result['speedup_first']}x); rerun labctl {result['labctl_rerun_s']} s vs ansible "
                     f"{result['ansible_rerun_s']} s ({result['speedup_rerun']}x)")
    site = result["site_rerun_s"]
    parts.append(f"site.yml rerun on 3 nodes {site} s" if site is not None else "site.yml rerun skipped")
    summary = "engine bench: " + "; ".join(parts)
    print(json.dumps(result) if args.json else summary)
    if args.json:
        print(summary, file=sys.stderr)


if __name__ == "__main__":
    main()
