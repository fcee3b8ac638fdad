"""Job controller on the FakeApi with a fake clock: parallelism/completions, failures and backoff,
backoffLimit, activeDeadlineSeconds, Indexed mode, suspend, ttlSecondsAfterFinished."""
from __future__ import annotations

import re

from labkube.controllers.job import JobController, index_ranges

import pytest

from .harness import Harness


def job(name="j", **spec):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}


async def make(j):
    h = Harness(JobController)
    await h.api.create("jobs", j)
    await h.start()
    await h.run()
    return h


def active(h):
    return sorted(p["metadata"]["name"] for p in h.pods()
                  if p["status"]["phase"] in ("Pending", "Running") and not p["metadata"].get("deletionTimestamp"))


async def finish(h, name, phase="Succeeded"):
    p = await h.api.get("pods", name, "default")
    p["status"] = {"phase": phase}
    await h.api.replace("pods", name, p, "default", subresource="status")


def cond(j):
    return [(c["type"], c.get("reason", "")) for c in j["status"].get("conditions") or []]


async def test_runs_parallel_pods_until_completions():
    h = await make(job(completions=3, parallelism=2))
    assert len(active(h)) == 2
    p = h.pods()[0]
    assert p["metadata"]["labels"]["job-name"] == "j" and p["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert all(re.fullmatch(r"j-[a-z0-9]{5}", n) for n in active(h))      # the server's names from generateName j-
    for n in active(h):
        await finish(h, n)
    await h.run()
    assert len(active(h)) == 1
    await finish(h, active(h)[0])
    await h.run()
    j = await h.api.get("jobs", "j", "default")
    assert cond(j) == [("Complete", "")] and j["status"]["succeeded"] == 3 and j["status"]["completionTime"]
    assert h.events("Completed")


async def test_a_sync_before_the_informer_sees_the_new_pods_creates_no_more():
    h = Harness(JobController)
    await h.api.create("jobs", job(completions=4, parallelism=2))
    await h.start()
    c = h.controllers[0]
    await c.process_one("default/j")
    await c.process_one("default/j")     # the pods informer has not delivered the two pods yet
    assert len(h.pods()) == 2
    await h.run()
    assert len(h.pods()) == 2


async def test_failures_back_off_then_hit_the_backoff_limit():
    h = await make(job(backoffLimit=1))
    (first,) = active(h)
    await finish(h, first, "Failed")
    await h.run()
    assert active(h) == []                     # 10 s backoff before the replacement
    h.clock.advance(10)
    await h.run()
    (second,) = active(h)
    await finish(h, second, "Failed")
    await h.run()
    j = await h.api.get("jobs", "j", "default")
    assert cond(j) == [("Failed", "BackoffLimitExceeded")] and j["status"]["failed"] == 2


async def test_active_deadline_kills_the_job():
    h = await make(job(activeDeadlineSeconds=30))
    h.clock.advance(31)
    await h.run()
    j = await h.api.get("jobs", "j", "default")
    assert cond(j) == [("Failed", "DeadlineExceeded")] and active(h) == []


async def test_indexed_completion():
    h = await make(job(completions=3, parallelism=3, completionMode="Indexed"))
    pods = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in h.pods()}
    assert sorted(pods) == ["0", "1", "2"]
    assert pods["1"]["spec"]["hostname"] == "j-1" and re.fullmatch(r"j-1-[a-z0-9]{5}", pods["1"]["metadata"]["name"])
    assert {"name": "JOB_COMPLETION_INDEX", "value": "1"} in pods["1"]["spec"]["containers"][0]["env"]
    await finish(h, pods["0"]["metadata"]["name"])
    await finish(h, pods["2"]["metadata"]["name"])
    await h.run()
    j = await h.api.get("jobs", "j", "default")
    assert j["status"]["completedIndexes"] == "0,2" and j["status"]["succeeded"] == 2


async def test_suspend_and_ttl():
    h = await make(job(parallelism=2, completions=2))
    await h.api.patch("jobs", "j", {"spec": {"suspend": True}}, namespace="default")
    await h.run()
    assert active(h) == []
    await h.api.patch("jobs", "j", {"spec": {"suspend": False, "ttlSecondsAfterFinished": 60}}, namespace="default")
    await h.run()
    for n in active(h):
        await finish(h, n)
    await h.run()
    assert h.api.all("jobs")
    h.clock.advance(61)
    await h.run()
    assert h.api.all("jobs") == []


@pytest.mark.parametrize("idx,want", [(set(), ""), ({0}, "0"), ({0, 1, 2, 5, 7, 8}, "0-2,5,7-8")])
def test_index_ranges(idx, want):
    assert index_ranges(idx) == want
