"""What the lab integration tests share: running labctl and kubectl (and reading what kubectl
gets), plain HTTP from the host to the lab's addresses, and waiting for a condition."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABCTL = [sys.executable, "-m", "labctl.cli.main"]


def labctl(*args, env, timeout=600):
    return subprocess.run([*LABCTL, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def kubectl(*args, env, check=True, input=None, timeout=120):
    proc = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, input=input,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc


def wait_for(what, probe, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def get_json(*args, env):
    """`kubectl get ARGS -o json`, parsed."""
    return json.loads(kubectl("get", *args, "-o", "json", env=env).stdout)


def apply(manifest, env):
    """`kubectl apply -f -` of a manifest (YAML or JSON text)."""
    kubectl("apply", "-f", "-", input=manifest, env=env)


def gone(kind_name, env):
    """True once `kubectl get KIND/NAME` finds nothing."""
    return kubectl("get", kind_name, "--ignore-not-found", "-o", "name", env=env).stdout.strip() == ""


def phase(kind_name, env):
    """status.phase of a pod, claim or volume (None while it has none)."""
    return (get_json(kind_name, env=env).get("status") or {}).get("phase")


def finished(pod, env, timeout=240):
    """Wait until the pod has Succeeded or Failed; its phase."""
    wait_for(f"pod {pod} to finish", lambda: phase(f"pod/{pod}", env) in ("Succeeded", "Failed"), timeout)
    return phase(f"pod/{pod}", env)


def pod_report(pod, env):
    """What a failed assertion about a pod should show: its node, container states, log and events
    (`kubectl describe` and `logs`), so that a failure seen once in CI can be read afterwards."""
    describe = kubectl("describe", f"pod/{pod}", env=env, check=False)
    logs = kubectl("logs", f"pod/{pod}", "--all-containers", env=env, check=False)
    return (f"\n--- kubectl describe pod/{pod}\n{describe.stdout}{describe.stderr}"
            f"--- kubectl logs pod/{pod}\n{logs.stdout}{logs.stderr}")


def on_host(volume_path, env):
    """Where a path under the nodes' /var/lib/labkube-volumes lives on the host: the netns nodes
    share that directory from the lab's state, so `labctl down` takes the volumes with it."""
    return os.path.join(env["LABCTL_STATE_DIR"], "volumes", os.path.relpath(volume_path, "/var/lib/labkube-volumes"))


def http_get(url):
    """The body of a GET from the host (a lab address), None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None
