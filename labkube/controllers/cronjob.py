"""CronJob controller: create a Job from jobTemplate at each scheduled time.

The newest schedule time t <= now (cron syntax via croniter, spec.timeZone or UTC) that is
later than status.lastScheduleTime (or the CronJob's creation) gets a Job named
`<cronjob>-<t in minutes since the epoch>`, unless it is older than
startingDeadlineSeconds, the CronJob is suspended, or concurrencyPolicy Forbid finds an
active Job (Replace deletes the active ones first). Finished Jobs beyond
successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted. status.active lists
running Jobs; lastScheduleTime and lastSuccessfulTime are kept.
"""
from __future__ import annotations

import copy
import datetime
from zoneinfo import ZoneInfo

from labkube.client.clock import parse_time, rfc3339
from labkube.client.errors import ApiError

from .base import Controller
from .job import finished
from .podcontrol import enqueue_owner
from .util import owner_ref


def _croniter():
    try:
        from croniter import croniter
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise RuntimeError("the cronjob controller needs the croniter package (pip install croniter)") from e
    return croniter


def last_due(schedule: str, now: datetime.datetime, tz: str | None) -> datetime.datetime:
    croniter = _croniter()
    zone = ZoneInfo(tz) if tz else datetime.timezone.utc
    local = now.astimezone(zone) + datetime.timedelta(seconds=1)
    return croniter(schedule, local).get_prev(datetime.datetime).astimezone(datetime.timezone.utc)


def next_due(schedule: str, now: datetime.datetime, tz: str | None) -> datetime.datetime:
    croniter = _croniter()
    zone = ZoneInfo(tz) if tz else datetime.timezone.utc
    return croniter(schedule, now.astimezone(zone)).get_next(datetime.datetime).astimezone(datetime.timezone.utc)


class CronJobController(Controller):
    name = "cronjob"

    def setup(self) -> None:
        self.cronjobs = self.informer("cronjobs")
        self.jobs = self.informer("jobs")
        self.cronjobs.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        self.jobs.add_handlers(*(lambda *a: enqueue_owner(self, self.cronjobs, "CronJob", a[-1]),) * 3)

    def event_component(self) -> str:
        return "cronjob-controller"

    def owned_jobs(self, cj: dict) -> list[dict]:
        uid, ns = cj["metadata"]["uid"], cj["metadata"]["namespace"]
        return [j for j in self.jobs.items() if j["metadata"].get("namespace") == ns and any(
            r.get("controller") and r.get("uid") == uid for r in j["metadata"].get("ownerReferences") or [])]

    async def sync(self, key: str) -> None:
        cj = self.cronjobs.get(key)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return
        cj = copy.deepcopy(cj)
        spec, old = cj.get("spec") or {}, cj.get("status") or {}
        status = copy.deepcopy(old)
        ns, now, tz = cj["metadata"]["namespace"], self.clock.now(), spec.get("timeZone")
        jobs = self.owned_jobs(cj)
        running = [j for j in jobs if not finished(j)]
        try:
            due = last_due(spec["schedule"], now, tz)
            upcoming = next_due(spec["schedule"], now, tz)
        except RuntimeError:
            raise
        except Exception as e:  # noqa: BLE001 - a bad schedule (croniter raises several kinds) is the user's error
            await self.recorder.warning(cj, "UnparseableSchedule", f"unparseable schedule {spec.get('schedule')!r}: {e}")
            return
        since = parse_time(old.get("lastScheduleTime")) or parse_time(cj["metadata"].get("creationTimestamp")) or now
        if due > since and not spec.get("suspend"):
            deadline = spec.get("startingDeadlineSeconds")
            if deadline is not None and (now - due).total_seconds() > int(deadline):
                await self.recorder.warning(cj, "MissSchedule", f"Missed scheduled time to start a job: {rfc3339(due)}")
            elif running and spec.get("concurrencyPolicy") == "Forbid":
                await self.recorder.normal(cj, "JobAlreadyActive", "Not starting job because prior execution is running "
                                                                   "and concurrency policy is Forbid")
            else:
                if spec.get("concurrencyPolicy") == "Replace":
                    for j in running:
                        await self._delete(cj, j)
                    running = []
                job = await self.create_job(cj, due)
                if job is not None:
                    running.append(job)
                status["lastScheduleTime"] = rfc3339(due)
        await self.cleanup(cj, [j for j in jobs if finished(j)])
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"], "namespace": ns,
                             "uid": j["metadata"]["uid"], "resourceVersion": j["metadata"].get("resourceVersion")}
                            for j in sorted(running, key=lambda j: j["metadata"]["name"])]
        if not status["active"]:
            del status["active"]
        done_ok = [j["status"].get("completionTime") for j in jobs if finished(j) == "Complete"
                   and (j.get("status") or {}).get("completionTime")]
        if done_ok:
            status["lastSuccessfulTime"] = max(done_ok + ([old["lastSuccessfulTime"]] if old.get("lastSuccessfulTime") else []))
        if status != old:
            cj["status"] = status
            await self.client.replace("cronjobs", cj["metadata"]["name"], cj, namespace=ns, subresource="status")
        self.queue.add_after(key, max(0.5, (upcoming - now).total_seconds() + 0.5))

    async def create_job(self, cj: dict, due: datetime.datetime) -> dict | None:
        tmpl = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        md = tmpl.get("metadata") or {}
        name = f"{cj['metadata']['name']}-{int(due.timestamp()) // 60}"
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                            "labels": dict(md.get("labels") or {}),
                            "annotations": {**(md.get("annotations") or {}),
                                            "batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339(due)},
                            "ownerReferences": [owner_ref(cj)]},
               "spec": tmpl.get("spec") or {}}
        try:
            out = await self.client.create("jobs", job, namespace=cj["metadata"]["namespace"])
        except ApiError as e:
            if e.code == 409:
                return None             # created by an earlier sync
            await self.recorder.warning(cj, "FailedCreate", f"Error creating job: {e.message}")
            raise
        await self.recorder.normal(cj, "SuccessfulCreate", f"Created job {name}")
        return out

    async def _delete(self, cj: dict, job: dict) -> None:
        try:
            await self.client.delete("jobs", job["metadata"]["name"], namespace=job["metadata"]["namespace"],
                                     propagation_policy="Background")
        except ApiError as e:
            if e.code != 404:
                raise
            return
        await self.recorder.normal(cj, "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")

    async def cleanup(self, cj: dict, done: list[dict]) -> None:
        spec = cj.get("spec") or {}
        for outcome, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                               ("Failed", spec.get("failedJobsHistoryLimit", 1))):
            these = sorted((j for j in done if finished(j) == outcome),
                           key=lambda j: (j["metadata"].get("creationTimestamp") or "", j["metadata"]["name"]))
            for j in these[:max(0, len(these) - int(limit if limit is not None else len(these)))]:
                await self._delete(cj, j)
