"""Job controller: run pods until `completions` succeed (or, without completions, until one
succeeds and none is active), at most `parallelism` at a time.

Failures (failed pods, plus container restarts under restartPolicy OnFailure) count against
backoffLimit; new pods after a failure wait 10 s doubling up to 6 min. The Job ends with a
Complete or Failed (BackoffLimitExceeded, DeadlineExceeded for activeDeadlineSeconds)
condition, after which its remaining pods are deleted; ttlSecondsAfterFinished deletes the
Job itself. suspend deletes active pods. completionMode Indexed gives every pod a
completion index (annotation, label, hostname, env JOB_COMPLETION_INDEX).
"""
from __future__ import annotations

import copy
import datetime

from labkube.client.clock import parse_time

from .base import Controller
from .expectations import Expectations
from .podcontrol import create_pod, delete_pod, enqueue_owner, owned_pods, pod_from_template
from .util import get_condition, is_ready

INDEX = "batch.kubernetes.io/job-completion-index"


def finished(job: dict) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c["type"]
    return None


def pod_index(pod: dict) -> int | None:
    try:
        return int((pod["metadata"].get("annotations") or {}).get(INDEX))
    except (TypeError, ValueError):
        return None


def index_ranges(indexes: set[int]) -> str:
    out, run = [], []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


class JobController(Controller):
    name = "job"

    def setup(self) -> None:
        self.expectations = Expectations(self.clock)
        self.not_before: dict[str, float] = {}      # key -> monotonic time new pods may start
        self.jobs = self.informer("jobs")
        self.pods = self.informer("pods")
        self.jobs.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self.enqueue)
        self.pods.add_handlers(self._pod_added, lambda o, n: enqueue_owner(self, self.jobs, "Job", n),
                               lambda p: enqueue_owner(self, self.jobs, "Job", p))

    def _pod_added(self, pod: dict) -> None:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Job":
                self.expectations.creation_observed(f"{pod['metadata']['namespace']}/{ref['name']}")
        enqueue_owner(self, self.jobs, "Job", pod)

    async def sync(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None:
            self.expectations.forget(key)
            self.not_before.pop(key, None)
            return
        job = copy.deepcopy(job)
        spec, old = job.get("spec") or {}, job.get("status") or {}
        pods = owned_pods(self.pods, job)
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        if finished(job):
            for p in active:
                await delete_pod(self, job, p)
            await self.ttl(key, job)
            return
        status = copy.deepcopy(old)
        now = self.clock.now_str()
        on_failure = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure"
        succeeded_pods = [p for p in pods if p["status"].get("phase") == "Succeeded"]
        restarts = sum(cs.get("restartCount", 0) for p in active for cs in p["status"].get("containerStatuses") or []) \
            if on_failure else 0
        failed = max(int(old.get("failed") or 0),
                     sum(1 for p in pods if p["status"].get("phase") == "Failed") + restarts)
        if failed > int(old.get("failed") or 0):
            self.not_before[key] = self.clock.monotonic() + min(10 * 2 ** (failed - 1), 360)
        indexed = spec.get("completionMode") == "Indexed"
        done_indexes = {pod_index(p) for p in succeeded_pods} - {None}
        succeeded = len(done_indexes) if indexed else max(int(old.get("succeeded") or 0), len(succeeded_pods))
        completions = spec.get("completions")
        status.update({"active": len(active), "ready": sum(1 for p in active if is_ready(p)),
                       "succeeded": succeeded, "failed": failed})
        if indexed:
            status["completedIndexes"] = index_ranges(done_indexes)
        if not status.get("startTime") and not spec.get("suspend"):
            status["startTime"] = now
        outcome = None
        if (completions is not None and succeeded >= int(completions)) or \
                (completions is None and succeeded > 0 and not active):
            outcome = ("Complete", "", "")
        elif failed > int(spec.get("backoffLimit", 6)):
            outcome = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif spec.get("activeDeadlineSeconds") is not None and status.get("startTime"):
            end = parse_time(status["startTime"]) + datetime.timedelta(seconds=int(spec["activeDeadlineSeconds"]))
            if self.clock.now() >= end:
                outcome = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
            else:
                self.queue.add_after(key, (end - self.clock.now()).total_seconds() + 0.5)
        if outcome:
            for p in active:
                await delete_pod(self, job, p)
            status["active"] = 0
            status["ready"] = 0
            cond = {"type": outcome[0], "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
            if outcome[1]:
                cond.update({"reason": outcome[1], "message": outcome[2]})
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != outcome[0]] + [cond]
            if outcome[0] == "Complete":
                status["completionTime"] = now
                await self.recorder.normal(job, "Completed", "Job completed")
            else:
                await self.recorder.warning(job, outcome[1], outcome[2])
        elif spec.get("suspend"):
            for p in active:
                await delete_pod(self, job, p)
            status["active"] = 0
            if not get_condition(status, "Suspended"):
                status.setdefault("conditions", []).append({"type": "Suspended", "status": "True", "reason": "JobSuspended",
                                                            "message": "Job suspended", "lastProbeTime": now,
                                                            "lastTransitionTime": now})
        else:
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Suspended"]
            await self.manage(key, job, active, succeeded, done_indexes)
        if not status.get("conditions"):
            status.pop("conditions", None)
        if status != old:
            job["status"] = status
            await self.client.replace("jobs", job["metadata"]["name"], job, namespace=job["metadata"]["namespace"],
                                      subresource="status")

    async def manage(self, key, job, active, succeeded, done_indexes) -> None:
        spec = job.get("spec") or {}
        parallelism, completions = int(spec.get("parallelism", 1)), spec.get("completions")
        if completions is None:
            want = len(active) if succeeded else parallelism
        else:
            want = min(parallelism, int(completions) - succeeded)
        if len(active) > want:
            for p in sorted(active, key=lambda p: p["metadata"].get("creationTimestamp") or "", reverse=True)[:len(active) - want]:
                await delete_pod(self, job, p)
            return
        if len(active) == want or not self.expectations.satisfied(key):
            return
        wait = self.not_before.get(key, 0) - self.clock.monotonic()
        if wait > 0:
            self.queue.add_after(key, wait)
            return
        busy = {pod_index(p) for p in active} | done_indexes
        free = [i for i in range(int(completions or 0)) if i not in busy]
        for n in range(want - len(active)):
            await self.create(key, job, free[n] if spec.get("completionMode") == "Indexed" and n < len(free) else None)

    async def create(self, key: str, job: dict, index: int | None) -> None:
        jname, uid = job["metadata"]["name"], job["metadata"]["uid"]
        spec = job.get("spec") or {}
        labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                  "batch.kubernetes.io/job-name": jname, "job-name": jname}
        ann = {}
        if index is not None:
            ann[INDEX] = str(index)
            labels[INDEX] = str(index)
        prefix = f"{jname}-" if index is None else f"{jname}-{index}-"
        pod = pod_from_template(job, spec.get("template"), None, labels, ann, generate_name=prefix)
        if index is not None:
            pod["spec"]["hostname"] = f"{jname}-{index}"
            for c in pod["spec"].get("containers") or []:
                c["env"] = list(c.get("env") or []) + [{"name": "JOB_COMPLETION_INDEX", "value": str(index)}]
        self.expectations.expect_creations(key)
        try:
            await create_pod(self, job, pod)
        except Exception:
            self.expectations.creation_observed(key)
            raise

    async def ttl(self, key: str, job: dict) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        st = job.get("status") or {}
        done = parse_time(st.get("completionTime")) or parse_time(next(
            (c.get("lastTransitionTime") for c in st.get("conditions") or [] if c.get("type") in ("Complete", "Failed")), None))
        if done is None:
            return
        left = (done + datetime.timedelta(seconds=int(ttl)) - self.clock.now()).total_seconds()
        if left > 0:
            self.queue.add_after(key, left + 0.5)
            return
        await self.client.delete("jobs", job["metadata"]["name"], namespace=job["metadata"]["namespace"],
                                 propagation_policy="Background")
