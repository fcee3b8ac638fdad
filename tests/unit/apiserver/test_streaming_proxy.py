"""The apiserver's streaming proxy: subprotocol choice and the checks made before upgrading."""
import pytest

from labkube.api import errors
from labkube.apiserver.streaming import _check_running, choose_protocol


def test_choose_protocol():
    assert choose_protocol("exec", ["v5.channel.k8s.io"]) == "v5.channel.k8s.io"
    assert choose_protocol("exec", ["v4.channel.k8s.io", "v5.channel.k8s.io"]) == "v5.channel.k8s.io"
    assert choose_protocol("attach", ["v4.channel.k8s.io"]) == "v4.channel.k8s.io"
    assert choose_protocol("exec", ["channel.k8s.io"]) is None
    assert choose_protocol("portforward", ["SPDY/3.1+portforward.k8s.io"]) == "SPDY/3.1+portforward.k8s.io"
    assert choose_protocol("portforward", ["v5.channel.k8s.io"]) is None


def _pod(phase, state):
    return {"spec": {"nodeName": "w1"}, "status": {"phase": phase, "containerStatuses": [
        {"name": "c", "state": state}]}}


def test_check_running():
    assert _check_running(_pod("Running", {"running": {}}), "c", "p") == "w1"
    with pytest.raises(errors.ApiError) as e:
        _check_running(_pod("Pending", {"waiting": {}}), "c", "p")
    assert e.value.code == 400 and "not running" in str(e.value)
    with pytest.raises(errors.ApiError):
        _check_running(_pod("Running", {"waiting": {"reason": "CrashLoopBackOff"}}), "c", "p")
    assert _check_running(_pod("Running", {"waiting": {}}), None, "p") == "w1"    # port-forward


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_recent_failures_answer_for_a_while_then_forget():
    from labkube.apiserver.streaming import FAILURE_MEMORY_S, RecentFailures
    clock = Clock()
    seen = RecentFailures(clock=clock, limit=2)
    key = ("default", "p", "attach", "c")
    assert seen.recall(key) is None
    seen.remember(key, "container c is not running in pod default/p")
    clock.now = FAILURE_MEMORY_S
    assert seen.recall(key) == "container c is not running in pod default/p"
    clock.now = FAILURE_MEMORY_S + 0.1
    assert seen.recall(key) is None                         # kubectl's retry comes at once, not later
    seen.remember(key, "first")
    seen.remember(("default", "q", "exec", "c"), "second")
    seen.remember(key, "again")                             # refreshed: now the newest
    seen.remember(("default", "r", "exec", "c"), "third")   # over the limit: the oldest goes
    assert seen.recall(("default", "q", "exec", "c")) is None
    assert seen.recall(key) == "again" and seen.recall(("default", "r", "exec", "c")) == "third"
