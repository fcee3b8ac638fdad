#!/usr/bin/env python3
"""Benchmark the VM lab: box build, `labctl up` to a smoke-tested cluster with the box
cached, `labctl down`, and the same site.yml on VMs compared with netns nodes in the same
run. Prints one JSON object (with --json) and a one-line summary.

  bench/vagrant.py --json           box rebuilt, 1 master + 2 workers on each provider
  bench/vagrant.py --quick --json   box reused if installed, 1 master VM + 1 master netns
                                    node, no smoke (VM boot alone is ~1 min under emulation)

Goals on a 2-core machine without KVM: box build <= 180 s, up <= 240 s, down <= 30 s.
The figures measured so far, with their host load, are in inventories/vagrant/README.md:
on this shared machine the VMs' speed follows the other work's load, so runs taken hours
apart do not compare; compare changes by alternating runs within one spell.
A step that fails is reported with its error (and null timings) instead of aborting;
on SIGTERM the labs are torn down and what was measured so far is printed
("interrupted": true). Besides the totals, the result names the slowest site.yml /
smoke.yml tasks of each provider (`*_slowest_tasks`) and the box build's stages.
Only one netns lab fits on a machine: the netns part holds the machine-wide lab lock
(/run/lock/labctl-lab.lock, the one `flock` and the integration tests take) while it
runs, so do not wrap this script in `flock` yourself. The VM part needs no lock.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lablock import lab_lock

ROOT = Path(__file__).resolve().parents[1]
SITE = re.compile(r"Deploying the cluster \(site\.yml\): (?:done|failed) (?:in|after) ([\d.]+) s")
CREATE = re.compile(r"Creating \d+ \w+ node\(s\): (?:done|failed) (?:in|after) ([\d.]+) s")


def labctl(args: list[str], env: dict, timeout: float = 3600) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "labctl.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return time.monotonic() - start, proc


def labctl_up(args: list[str], env: dict, timeout: float = 5400) -> tuple[float, subprocess.CompletedProcess, dict]:
    """`labctl up --json ...`, read as it runs: each engine task's wall time is the time from
    its task_start event to the next one (all hosts run a task together), summed per title."""
    cmd = [sys.executable, "-m", "labctl.cli.main", *args, "--json"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    out, tasks, current = [], {}, None

    def close(now):
        if current:
            tasks[current[0]] = tasks.get(current[0], 0.0) + now - current[1]
    try:
        for line in proc.stdout:
            now = time.monotonic()
            out.append(line)
            ev = None
            if line.startswith("{"):
                try:
                    ev = json.loads(line)
                except ValueError:
                    pass
            if isinstance(ev, dict) and ev.get("event") in ("task_start", "play_start", "recap"):
                close(now)
                current = (ev["task"], now) if ev["event"] == "task_start" else None
        proc.wait()
    except BaseException:
        proc.kill()                         # interrupted: the caller's `labctl down` follows
        raise
    finally:
        killer.cancel()
    reader.join(5)
    close(time.monotonic())
    done = subprocess.CompletedProcess(cmd, proc.returncode, "".join(out), "".join(err))
    return time.monotonic() - start, done, tasks


def slowest(tasks: dict, n: int = 6) -> dict:
    return {name: round(t, 1) for name, t in sorted(tasks.items(), key=lambda kv: -kv[1])[:n]}


def last_line(proc: subprocess.CompletedProcess) -> str:
    return ((proc.stderr.strip() or proc.stdout.strip()).splitlines() or ["?"])[-1][:300]


def found(pattern: re.Pattern, proc: subprocess.CompletedProcess) -> float | None:
    m = pattern.search(proc.stdout + proc.stderr)
    return round(float(m.group(1)), 1) if m else None


def single_master(src: Path, dst: Path) -> Path:
    """A copy of an inventory with only its master (the quick variant)."""
    shutil.copytree(src, dst)
    hosts = (dst / "hosts.yml").read_text()
    (dst / "hosts.yml").write_text(hosts[:hosts.index("    workers:")])
    return dst


def lab_cycle(inventory: Path, env: dict, quick: bool, result: dict, prefix: str) -> None:
    """up (timed, with the site.yml part parsed from the progress lines), then down."""
    labctl(["down", "-i", str(inventory)], env)
    up_args = ["up", "-i", str(inventory)] + (["--no-smoke"] if quick else [])
    took, proc, tasks = labctl_up(up_args, env)
    result[f"{prefix}create_s"] = found(CREATE, proc)
    result[f"{prefix}site_s"] = found(SITE, proc)
    result[f"{prefix}slowest_tasks"] = slowest(tasks)      # site.yml and smoke.yml tasks
    if proc.returncode == 0:
        result[f"{prefix}up_s"] = round(took, 1)
    else:
        result[f"{prefix}up_s"] = None
        result[f"{prefix}error"] = last_line(proc)
    took, proc = labctl(["down", "-i", str(inventory)], env)
    result[f"{prefix}down_s"] = round(took, 1) if proc.returncode == 0 else None
    if proc.returncode != 0:
        result[f"{prefix}down_error"] = last_line(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="labctl-bench-vagrant-"))
    env = dict(os.environ, CI="true")
    local, vms = ROOT / "inventories" / "local", ROOT / "inventories" / "vagrant"
    if args.quick:
        local, vms = single_master(local, tmp / "local"), single_master(vms, tmp / "vagrant")
    result: dict = {"quick": args.quick, "nodes": 1 if args.quick else 3,
                    "kvm": False if os.environ.get("LABCTL_LIBVIRT_DRIVER", "qemu") == "qemu" else True}
    # the host's 1-minute load average, sampled while the bench runs: on a shared machine the
    # VMs' speed follows it, and figures only compare at a similar load
    loads = [os.getloadavg()[0]]
    result["load_1m_start"] = round(loads[0], 2)

    def sample():
        while True:
            time.sleep(15)
            loads.append(os.getloadavg()[0])
    threading.Thread(target=sample, daemon=True).start()
    # SIGTERM (a deadline, a CI timeout): clean up and print what was measured so far
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    try:
        took, proc = labctl(["box", "build", "--json"] + ([] if args.quick else ["--force"]), env)
        result["box_cached"] = "already installed" in proc.stdout
        result["box_build_s"] = round(took, 1) if proc.returncode == 0 else None
        stages = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if stages:
            result["box_stages"] = json.loads(stages[-1])
        if proc.returncode != 0:
            result["box_error"] = last_line(proc)
        netns_env = dict(env, LABCTL_STATE_DIR=str(tmp / "netns-state"))
        with lab_lock():
            try:
                lab_cycle(local, netns_env, args.quick, result, "netns_")
            finally:
                labctl(["down", "-i", str(local)], netns_env)
        lab_cycle(vms, dict(env, LABCTL_STATE_DIR=str(tmp / "vagrant-state")), args.quick, result, "vagrant_")
    except (KeyboardInterrupt, SystemExit):
        result["interrupted"] = True
    finally:
        labctl(["down", "-i", str(vms)], dict(env, LABCTL_STATE_DIR=str(tmp / "vagrant-state")))
        shutil.rmtree(tmp, ignore_errors=True)
    result["load_1m_end"] = round(os.getloadavg()[0], 2)
    result["load_1m_mean"] = round(sum(loads) / len(loads), 2)
    result["load_1m_max"] = round(max(loads), 2)
    result["up_s"] = result.pop("vagrant_up_s", None)
    result["down_s"] = result.pop("vagrant_down_s", None)
    if args.json:
        print(json.dumps(result))
    print(f"box build {result.get('box_build_s')} s (goal 180), vagrant up {result['up_s']} s (goal 240), "
          f"down {result['down_s']} s (goal 30); site.yml {result.get('vagrant_site_s')} s on VMs vs "
          f"{result.get('netns_site_s')} s on netns ({result['nodes']} node(s)); host load "
          f"{result['load_1m_mean']} mean, {result['load_1m_max']} max")


if __name__ == "__main__":
    main()
