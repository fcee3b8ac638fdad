"""CronJob controller on the FakeApi with a fake clock: schedule, naming, concurrency policies,
suspend, starting deadline, history limits, status."""
from __future__ import annotations

import datetime

import pytest

from labkube.client.clock import FakeClock
from labkube.controllers.cronjob import CronJobController, last_due, next_due
from labkube.controllers.job import JobController

from .harness import Harness

START = datetime.datetime(2026, 1, 1, 0, 0, 30, tzinfo=datetime.timezone.utc)


def cj(schedule="*/5 * * * *", **spec):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": schedule, "jobTemplate": {"metadata": {"labels": {"from": "c"}}, "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "x", "image": "busybox"}]}}}},
                **spec}}


async def make(obj, with_jobs=False):
    h = Harness(*((CronJobController, JobController) if with_jobs else (CronJobController,)), clock=FakeClock(START))
    await h.api.create("cronjobs", obj)
    await h.start()
    await h.run()
    return h


def jobs(h):
    return sorted(j["metadata"]["name"] for j in h.api.all("jobs"))


async def complete(h, name, outcome="Complete"):
    j = await h.api.get("jobs", name, "default")
    j["status"] = {"conditions": [{"type": outcome, "status": "True"}], "completionTime": h.clock.now_str()}
    await h.api.replace("jobs", name, j, "default", subresource="status")


@pytest.mark.parametrize("schedule,tz,want_prev,want_next", [
    ("*/5 * * * *", None, "2026-01-01T00:00:00", "2026-01-01T00:05:00"),
    ("0 3 * * *", None, "2025-12-31T03:00:00", "2026-01-01T03:00:00"),
    ("0 3 * * *", "Europe/Berlin", "2025-12-31T02:00:00", "2026-01-01T02:00:00"),
    ("@hourly", None, "2026-01-01T00:00:00", "2026-01-01T01:00:00"),
])
def test_schedule_times(schedule, tz, want_prev, want_next):
    assert last_due(schedule, START, tz).strftime("%Y-%m-%dT%H:%M:%S") == want_prev
    assert next_due(schedule, START, tz).strftime("%Y-%m-%dT%H:%M:%S") == want_next


async def test_creates_a_job_per_schedule_with_owner_and_labels():
    h = await make(cj())
    assert jobs(h) == []                     # created at 00:00:30, the 00:00 run is before it
    h.clock.advance(5 * 60)
    await h.run()
    (name,) = jobs(h)
    minutes = int(datetime.datetime(2026, 1, 1, 0, 5, tzinfo=datetime.timezone.utc).timestamp()) // 60
    assert name == f"c-{minutes}"
    j = h.api.all("jobs")[0]
    assert j["metadata"]["labels"] == {"from": "c"} and j["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    c = await h.api.get("cronjobs", "c", "default")
    assert c["status"]["lastScheduleTime"] == "2026-01-01T00:05:00Z"
    assert [a["name"] for a in c["status"]["active"]] == [name]
    await h.run()
    assert len(jobs(h)) == 1                 # idempotent


async def test_forbid_and_replace():
    h = await make(cj(concurrencyPolicy="Forbid"))
    h.clock.advance(5 * 60)
    await h.run()
    h.clock.advance(5 * 60)
    await h.run()
    assert len(jobs(h)) == 1 and h.events("JobAlreadyActive")
    h2 = await make(cj(concurrencyPolicy="Replace"))
    h2.clock.advance(5 * 60)
    await h2.run()
    first = jobs(h2)
    h2.clock.advance(5 * 60)
    await h2.run()
    assert len(jobs(h2)) == 1 and jobs(h2) != first


async def test_suspend_and_starting_deadline():
    h = await make(cj(suspend=True))
    h.clock.advance(5 * 60)
    await h.run()
    assert jobs(h) == []
    h2 = await make(cj(startingDeadlineSeconds=10))
    h2.clock.advance(5 * 60)                 # 30 s late for the 00:05 run
    await h2.run()
    assert jobs(h2) == [] and h2.events("MissSchedule")


async def test_history_limits_and_last_successful_time():
    h = await make(cj(successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1))
    for outcome in ("Complete", "Complete", "Failed", "Failed"):
        h.clock.advance(5 * 60)
        await h.run()
        newest = max(jobs(h), key=lambda n: int(n.split("-")[1]))
        await complete(h, newest, outcome)
        await h.run()
    assert len(jobs(h)) == 2
    c = await h.api.get("cronjobs", "c", "default")
    assert c["status"]["lastSuccessfulTime"] and "active" not in c["status"]


async def test_bad_schedule_is_reported():
    h = await make(cj("not a schedule"))
    assert h.events("UnparseableSchedule") and jobs(h) == []
