"""A scheduler on the in-memory API for the scheduler tests: `setup` starts one on a cluster of
nodes and other objects, `run_queue` schedules what is queued until the queue is empty."""
from __future__ import annotations

import random

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.scheduler import Scheduler

RESOURCES = {"Pod": "pods", "PersistentVolume": "persistentvolumes",
             "PersistentVolumeClaim": "persistentvolumeclaims", "StorageClass": "storageclasses"}


async def setup(nodes, objects=()):
    """(api, scheduler, clock): the nodes and objects created, the scheduler started and settled."""
    clock = FakeClock()
    api = FakeApi(clock=clock)
    for n in nodes:
        await api.create("nodes", n)
    for o in objects:
        await api.create(RESOURCES[o["kind"]], o)
    s = Scheduler(api, clock=clock, profile=default_profile(random.Random(1)))
    await s.start()
    await api.settle()
    return api, s, clock


async def run_queue(api, s):
    while (key := s.queue.pop_nowait()) is not None:
        await s.schedule_one(key)
        await s.wait_bindings()
        await api.settle()
