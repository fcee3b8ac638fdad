"""Pod status computation: phases, conditions, container states, back-off."""
from __future__ import annotations

import pytest

from labkube.kubelet.backoff import Backoff
from labkube.kubelet.runtime.base import ContainerStatus
from labkube.kubelet.status import ContainerView, container_status, pod_phase, pod_status, qos_class

T0 = 1_800_000_000.0


def cs(state, code=None, rc=0, cid="c1"):
    return ContainerStatus(id=cid, name="main", pod_uid="u", state=state, restart_count=rc,
                           image_id="docker.io/library/busybox@sha256:1", created_at=T0, started_at=T0 + 1,
                           finished_at=T0 + 2 if state == "exited" else None, exit_code=code,
                           reason="" if code is None else ("Completed" if code == 0 else "Error"))


POD = {"metadata": {"name": "p", "namespace": "d", "uid": "u"},
       "spec": {"restartPolicy": "Always", "containers": [{"name": "main", "image": "busybox"}]}}


def test_running_container_status():
    s = container_status(ContainerView("main", "docker.io/library/busybox:latest", current=cs("running"), ready=True))
    assert s["state"] == {"running": {"startedAt": "2027-01-15T08:00:01Z"}}
    assert s["containerID"] == "crun://c1" and s["ready"] and s["started"]
    assert s["imageID"] == "docker.io/library/busybox@sha256:1"


def test_waiting_reason_and_last_state():
    v = ContainerView("main", "img", current=cs("exited", 1, rc=3), waiting=("CrashLoopBackOff", "back-off 40s"),
                      restart_count=3)
    s = container_status(v)
    assert s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert s["lastState"]["terminated"]["exitCode"] == 1 and s["restartCount"] == 3 and not s["ready"]


def test_image_error_without_container():
    s = container_status(ContainerView("main", "img", waiting=("ErrImageNeverPull", "not present")))
    assert s["state"] == {"waiting": {"reason": "ErrImageNeverPull", "message": "not present"}}
    assert "containerID" not in s


@pytest.mark.parametrize("policy,state,code,phase", [
    ("Always", "running", None, "Running"),
    ("Always", "exited", 0, "Running"),
    ("Never", "exited", 0, "Succeeded"),
    ("Never", "exited", 2, "Failed"),
    ("OnFailure", "exited", 0, "Succeeded"),
    ("OnFailure", "exited", 2, "Running"),
])
def test_phase(policy, state, code, phase):
    s = container_status(ContainerView("main", "img", current=cs(state, code)))
    assert pod_phase(policy, [], [s]) == phase


def test_pending_while_creating_and_while_init_runs():
    creating = container_status(ContainerView("main", "img"))
    assert pod_phase("Always", [], [creating]) == "Pending"
    init_running = container_status(ContainerView("init", "img", current=cs("running")), init=True)
    assert pod_phase("Always", [init_running], [creating]) == "Pending"
    main_waiting = container_status(ContainerView("main", "img"), initializing=True)
    assert main_waiting["state"] == {"waiting": {"reason": "PodInitializing"}}
    init_failed = container_status(ContainerView("init", "img", current=cs("exited", 1)), init=True)
    assert pod_phase("Never", [init_failed], [creating]) == "Failed"


def test_pod_status_conditions_and_transition_times_kept():
    v = [ContainerView("main", "img", current=cs("running"), ready=True)]
    st = pod_status(POD, [], v, host_ip="10.200.0.11", pod_ips=["10.244.1.2"], start_time=T0, now=T0 + 5)
    conds = {c["type"]: c for c in st["conditions"]}
    assert st["phase"] == "Running" and st["podIP"] == "10.244.1.2" and st["podIPs"] == [{"ip": "10.244.1.2"}]
    assert st["hostIP"] == "10.200.0.11" and st["startTime"] == "2027-01-15T08:00:00Z"
    assert all(conds[t]["status"] == "True" for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready"))
    later = pod_status({**POD, "status": st}, [], v, host_ip="10.200.0.11", pod_ips=["10.244.1.2"],
                       start_time=T0 + 100, now=T0 + 50)
    assert later == st                     # nothing changed -> identical (so it is not re-sent)
    v[0].ready = False
    unready = pod_status({**POD, "status": st}, [], v, host_ip="h", pod_ips=["10.244.1.2"], start_time=T0, now=T0 + 60)
    ready = {c["type"]: c for c in unready["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["lastTransitionTime"] == "2027-01-15T08:01:00Z"


def test_qos():
    assert qos_class(POD) == "BestEffort"
    g = {"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}
    assert qos_class(g) == "Guaranteed"
    b = {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}}
    assert qos_class(b) == "Burstable"


def test_backoff_doubles_to_five_minutes_and_resets():
    now = [0.0]
    b = Backoff(clock=lambda: now[0])
    delays = []
    for _ in range(8):
        delays.append(b.failed("k"))
        now[0] += delays[-1]
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert b.remaining("k", now=now[0] - 300) == 300 and b.remaining("k") == 0
    now[0] += 300 + 600 + 1              # ran fine for longer than the reset window
    assert b.failed("k") == 10
    b.reset("k")
    assert b.remaining("k") == 0 and b.delay("k") == 0


@pytest.mark.parametrize("stamps", [
    [0, 0.999, 1, 0.5],                                   # back to a second formatted before
    [-0.5, -1, -1.0001],                                  # floored like gmtime
    [1764700000.0, 1764700000.7, 1764700001.9999, 1764700000.2],
    [2 ** 31 + 0.3, 1e10, None, 1e10],
])
def test_rfc3339_keeps_the_last_second_and_formats_as_strftime(stamps):
    import time as _time
    from labkube.kubelet.status import rfc3339
    for ts in stamps:
        want = None if ts is None else _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(ts))
        assert rfc3339(ts) == want, ts
