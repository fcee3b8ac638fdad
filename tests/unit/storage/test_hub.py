"""WatchHub / HubWatch: how one watcher's consumer waits for events, times out, and ends."""
import asyncio

import pytest

from labkube.storage.hub import TIMEOUT, WatchHub
from labkube.storage.interface import Event


def _event(rev: int, key: str = "/registry/pods/a/x") -> Event:
    return Event("ADDED", key, rev, '{"v":%d}' % rev)


async def _waiting(w, timeout):
    """A consumer task already parked in next_event(timeout)."""
    task = asyncio.ensure_future(w.next_event(timeout))
    await asyncio.sleep(0)
    assert not task.done()
    return task


async def _push(hub, w):
    hub.publish(_event(hub.last_rev + 1))


async def _close(hub, w):
    w.close()


async def _fall_behind(hub, w):
    for _ in range(3):  # buffer 2: the third event ends the watch
        hub.publish(_event(hub.last_rev + 1))


WAKE_CASES = [  # (what happens while the consumer waits, its timeout, what next_event returns)
    ("an event arrives", _push, 30, "event"),
    ("an event arrives, no timeout", _push, None, "event"),
    ("the watch is closed", _close, 30, None),
    ("the watch is closed, no timeout", _close, None, None),
    ("the watcher falls too far behind", _fall_behind, 30, "event"),  # queued events first, then the end
]


@pytest.mark.parametrize("what,action,timeout,want", WAKE_CASES, ids=[c[0] for c in WAKE_CASES])
async def test_a_waiting_consumer_is_woken(what, action, timeout, want):
    hub = WatchHub(1, buffer=2)
    w = hub.watch("/registry/pods/", 1)
    task = await _waiting(w, timeout)
    await action(hub, w)
    got = await asyncio.wait_for(task, 5)
    if want == "event":
        assert isinstance(got, Event) and got.rev == 2, what
    else:
        assert got is want, what
    assert w._waiter is None, what


async def test_a_watcher_that_fell_behind_reports_it_after_its_queued_events():
    hub = WatchHub(1, buffer=2)
    w = hub.watch("/registry/pods/", 1)
    await _fall_behind(hub, w)
    assert [(await w.next_event(1)).rev for _ in range(2)] == [2, 3]
    assert await w.next_event(1) is None and w.closed_reason == "watcher fell too far behind"


@pytest.mark.parametrize("timeout", [0, 0.01])
async def test_no_event_within_the_timeout_is_timeout_and_the_watch_goes_on(timeout):
    hub = WatchHub(1)
    w = hub.watch("/registry/pods/", 1)
    assert await w.next_event(timeout) == TIMEOUT
    hub.publish(_event(2))
    assert (await w.next_event(timeout)).rev == 2
    assert w.next_event_nowait() is None


async def test_queued_events_are_returned_without_waiting():
    hub = WatchHub(1)
    w = hub.watch("/registry/pods/", 1)
    for rev in (2, 3):
        hub.publish(_event(rev))
    hub.publish(_event(4, "/registry/services/a/x"))  # another prefix: not this watcher's
    assert [(await w.next_event(0)).rev, w.next_event_nowait().rev, w.next_event_nowait()] == [2, 3, None]


async def test_a_cancelled_consumer_leaves_the_watch_usable():
    hub = WatchHub(1)
    w = hub.watch("/registry/pods/", 1)
    task = await _waiting(w, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert w._waiter is None
    hub.publish(_event(2))
    assert (await w.next_event(1)).rev == 2


async def test_async_iteration_yields_events_until_closed():
    hub = WatchHub(1)
    w = hub.watch("/registry/pods/", 1)

    async def collect():
        return [ev.rev async for ev in w]
    task = asyncio.ensure_future(collect())
    await asyncio.sleep(0)
    for rev in (2, 3):
        hub.publish(_event(rev))
        await asyncio.sleep(0)
    hub.publish(_event(4))
    w.close()
    assert await asyncio.wait_for(task, 5) == [2, 3, 4]
    assert hub.watcher_count == 0


async def test_a_sink_takes_events_while_nothing_is_queued():
    hub = WatchHub(0)
    w = hub.watch("/registry/pods/", 0)
    taken = []
    w.sink = lambda ev: taken.append(ev.rev) or True
    hub.publish(_event(1))
    hub.publish(_event(2))
    assert taken == [1, 2]
    assert w.next_event_nowait() is None


async def test_an_event_the_sink_refuses_queues_and_so_do_later_ones_until_the_queue_is_read():
    hub = WatchHub(0)
    w = hub.watch("/registry/pods/", 0)
    taken, accept = [], {1: True, 2: False, 3: True, 4: True}
    w.sink = lambda ev: accept[ev.rev] and (taken.append(ev.rev) or True)
    for rev in (1, 2, 3):
        hub.publish(_event(rev))
    assert taken == [1]  # 3 would have been accepted, but 2 waits in the queue: order first
    assert [w.next_event_nowait().rev, w.next_event_nowait().rev] == [2, 3]
    hub.publish(_event(4))
    assert taken == [1, 4]  # the queue is empty again: the sink takes the next one


async def test_a_closed_watch_drops_its_sink():
    hub = WatchHub(0)
    w = hub.watch("/registry/pods/", 0)
    w.sink = lambda ev: True
    w.close()
    assert w.sink is None


async def test_a_sink_that_fails_is_dropped_and_the_event_queues_for_the_task():
    hub = WatchHub(0)
    w = hub.watch("/registry/pods/", 0)
    other = hub.watch("/registry/pods/", 0)

    def broken(ev):
        raise ValueError("cannot encode")
    w.sink = broken
    hub.publish(_event(1))  # the publish (a commit's) goes on for every other watcher
    assert w.sink is None and w.next_event_nowait().rev == 1
    assert other.next_event_nowait().rev == 1


PREFIXES = ["", "/", "/registry/", "/registry/pods/", "/registry/pods/a/", "/registry/pods/a/x", "/registry/pods/a/x/",
            "/registry/po", "/registry/pods/ab", "/registry/pods/a", "/registry/services/", "/registry/pods/b/",
            "/registry/example.com/pods/", "x", "/registry/pods/", "/registry/pods/a/"]  # two prefixes twice
KEYS = ["/registry/pods/a/x", "/registry/pods/a/xy", "/registry/pods/a/y", "/registry/pods/ab/x", "/registry/pods/b/x",
        "/registry/pods/a/x/sub", "/registry/services/a/x", "/registry/example.com/pods/a/x", "/registry/nodes/n1",
        "/registry/pods/", "/registry/pods/a/", "x", "xy", "", "/", "/registry/podsx/a/x", "/registry/po"]


def _recording_hub(prefixes):
    """A hub with one watcher per prefix, each sink recording (index, rev) into one list."""
    hub, got = WatchHub(0), []
    watchers = [hub.watch(p, 0) for p in prefixes]
    for i, w in enumerate(watchers):
        w.sink = lambda ev, i=i: got.append((i, ev.rev)) or True
    return hub, watchers, got


def _plain_loop(hub, key):
    """Whom the plain loop over every watcher pushed a key's event to, in its order."""
    return [w for w in list(hub._watchers) if key.startswith(w.prefix)]


@pytest.mark.parametrize("key", KEYS)
async def test_an_event_reaches_the_watchers_whose_prefix_it_starts_with_in_the_plain_loops_order(key):
    hub, watchers, got = _recording_hub(PREFIXES)
    want = [(watchers.index(w), 1) for w in _plain_loop(hub, key)]
    hub.publish(Event("ADDED", key, 1, "{}"))
    hub.publish(Event("ADDED", key, 2, "{}"))  # the second time through the kept route
    assert got == want + [(i, 2) for i, _ in want]
    assert sorted(i for i, _ in want) == [i for i, p in enumerate(PREFIXES) if key.startswith(p)]


CHANGES = [  # (what happens after a first event has built the routes, the watchers the next event reaches)
    ("a watcher is added", lambda hub, ws: ws.append(hub.watch("/registry/pods/a/", 0)), [0, 1, 3]),
    ("a watcher is closed", lambda hub, ws: ws[1].close(), [0]),
    ("an unrelated watcher is closed", lambda hub, ws: ws[2].close(), [0, 1]),
    ("a watcher falls behind", lambda hub, ws: setattr(ws[1], "sink", None) or setattr(ws[1], "_buffer", 1), [0]),
]


@pytest.mark.parametrize("what,change,want", CHANGES, ids=[c[0] for c in CHANGES])
async def test_routes_follow_the_watchers_coming_and_going(what, change, want):
    hub = WatchHub(0)
    ws = [hub.watch("/registry/pods/", 0), hub.watch("/registry/pods/a/", 0), hub.watch("/registry/nodes/", 0)]
    hub.publish(Event("ADDED", "/registry/pods/a/x", 1, "{}"))
    change(hub, ws)
    hub.publish(Event("ADDED", "/registry/pods/a/x", 2, "{}"))
    hub.publish(Event("ADDED", "/registry/pods/a/x", 3, "{}"))
    reached = [i for i, w in enumerate(ws) if any(ev.rev == 3 for ev in w._queue)]
    assert reached == want, what


async def test_routes_are_dropped_beyond_their_limit_and_built_again(monkeypatch):
    from labkube.storage import hub as hubmod
    monkeypatch.setattr(hubmod, "ROUTES_MAX", 3)
    hub, watchers, got = _recording_hub(["/registry/pods/"])
    for rev, ns in enumerate(["a", "b", "c", "d", "a"], 1):
        hub.publish(Event("ADDED", f"/registry/pods/{ns}/x", rev, "{}"))
        assert len(hub._routes) <= 3
    assert got == [(0, rev) for rev in range(1, 6)]
