"""The pool's keepalive rule, for both of its callers: `_take` (every request) and `_prune`
(`size()`, warm-ups), over the states an idle connection can be in, against the earlier code
(kept here: each caller carried its own copy of the rule). The rule: a connection the server
closed is dropped, one idle more than keepalive seconds is closed and dropped, exactly keepalive
is still reused; a transport that is closing but has not reported its loss is not looked at."""
import itertools

import pytest

from labkube.client.http import Connection, ConnectionPool

NOW, KEEPALIVE = 1000.0, 60.0


class Clock:
    """A loop as far as the pool and its connections use one here: its time."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


class Transport:
    def __init__(self, closing: bool):
        self.closing, self.closes = closing, 0

    def get_extra_info(self, name, default=None):
        return default

    def is_closing(self) -> bool:
        return self.closing or self.closes > 0

    def close(self) -> None:
        self.closes += 1


STATES = {  # name: (seconds idle, closed by the server, transport closing, carried a request)
    "fresh (opened ahead of need)": (0.0, False, False, True),
    "fresh, never used": (0.0, False, False, False),
    "idle below keepalive": (59.5, False, False, True),
    "idle at keepalive": (60.0, False, False, True),
    "idle over keepalive": (60.5, False, False, True),
    "idle far over keepalive": (3600.0, False, False, True),
    "closed, fresh": (0.0, True, False, True),
    "closed, over keepalive": (61.0, True, False, True),
    "transport closing, fresh": (0.0, False, True, True),
    "transport closing, over keepalive": (61.0, False, True, True),
}

# what either caller does with a connection in that state: "reuse" (handed out / kept), "close"
# (closed and dropped), "drop" (already closed: dropped)
EXPECTED = {
    "fresh (opened ahead of need)": "reuse", "fresh, never used": "reuse",
    "idle below keepalive": "reuse", "idle at keepalive": "reuse",
    "idle over keepalive": "close", "idle far over keepalive": "close",
    "closed, fresh": "drop", "closed, over keepalive": "drop",
    "transport closing, fresh": "reuse", "transport closing, over keepalive": "close",
}


def make(names: list[str]) -> tuple[ConnectionPool, list[Connection]]:
    clock = Clock(NOW)
    pool = ConnectionPool("http://127.0.0.1:1", None, {}, keepalive=KEEPALIVE)
    conns = []
    for name in names:
        idle, closed, closing, used = STATES[name]
        c = Connection(clock)
        c.connection_made(Transport(closing))
        c.used, c.idle_since = used, NOW - idle
        if closed:
            c.connection_lost(None)
        conns.append(c)
    pool._idle = list(conns)
    return pool, conns


def earlier_take(pool):
    idle = pool._idle
    while idle:
        conn = idle.pop()
        if conn.closed:
            continue
        if conn.loop.time() - conn.idle_since > pool.keepalive:
            conn.close()
            continue
        return conn
    return None


def earlier_prune(pool):
    idle = pool._idle
    if not idle:
        return
    limit = idle[0].loop.time() - pool.keepalive
    k = 0
    while k < len(idle) and idle[k].idle_since < limit:
        idle[k].close()
        k += 1
    if k:
        del idle[:k]
    if any(c.closed for c in idle):
        pool._idle = [c for c in idle if not c.closed]


def take_all(pool, take, conns):
    """Indexes of the connections handed out, in turn, until none is left."""
    out = []
    while (c := take(pool)) is not None:
        out.append(conns.index(c))
    return out


def outcome(pool, conns, lost):
    """The idle list left, which connections are closed, and which live ones were closed (the
    earlier _prune also called close() again on an expired connection the server had closed
    already, a no-op on its transport; that is not counted)."""
    return {"idle": [conns.index(c) for c in pool._idle], "closed": [c.closed for c in conns],
            "closed live": [c.transport.closes > 0 for c, was in zip(conns, lost) if not was]}


@pytest.mark.parametrize("name", list(STATES))
def test_take_one_state(name):
    pool, (c,) = make([name])
    got = pool._take()
    assert (got is c) == (EXPECTED[name] == "reuse")
    assert pool._idle == []
    assert c.transport.closes == (1 if EXPECTED[name] == "close" else 0)
    assert c.closed == (EXPECTED[name] != "reuse")


@pytest.mark.parametrize("name", list(STATES))
def test_prune_one_state(name):
    pool, (c,) = make([name])
    pool._prune()
    assert pool._idle == ([c] if EXPECTED[name] == "reuse" else [])
    assert c.transport.closes == (1 if EXPECTED[name] == "close" else 0)
    assert pool.size() == (1 if EXPECTED[name] == "reuse" else 0)


# every ordered pair and triple of states, oldest first (the pool's idle list is in the order the
# connections became idle, so their idle_since never decreases along it)
LISTS = [sorted(p, key=lambda n: -STATES[n][0])
         for k in (1, 2, 3) for p in itertools.combinations_with_replacement(list(STATES), k)]


@pytest.mark.parametrize("names", LISTS, ids=lambda names: " | ".join(names))
def test_take_as_before(names):
    pool, conns = make(names)
    old_pool, old_conns = make(names)
    lost = [c.closed for c in conns]
    assert take_all(pool, ConnectionPool._take, conns) == take_all(old_pool, earlier_take, old_conns)
    assert outcome(pool, conns, lost) == outcome(old_pool, old_conns, lost)


@pytest.mark.parametrize("names", LISTS, ids=lambda names: " | ".join(names))
def test_prune_as_before(names):
    pool, conns = make(names)
    old_pool, old_conns = make(names)
    lost = [c.closed for c in conns]
    pool._prune()
    earlier_prune(old_pool)
    assert outcome(pool, conns, lost) == outcome(old_pool, old_conns, lost)
    # and what is left is what requests then take, most recently idle first
    assert take_all(pool, ConnectionPool._take, conns) == take_all(old_pool, earlier_take, old_conns)


def test_prune_keeps_the_list_object_and_order():
    names = ["idle far over keepalive", "idle below keepalive", "closed, fresh", "fresh (opened ahead of need)",
             "transport closing, fresh"]                # oldest first
    pool, conns = make(names)
    idle = pool._idle
    pool._prune()
    assert pool._idle is idle
    assert pool._idle == [conns[1], conns[3], conns[4]]


def test_the_clock_moves():
    """The same connections a minute later: the ones within keepalive then are past it now."""
    pool, conns = make(["idle below keepalive", "fresh (opened ahead of need)"])
    conns[0].loop.now += 1.0
    assert pool.size() == 1 and pool._idle == [conns[1]]
    conns[1].loop.now += 59.0
    assert pool._take() is conns[1]                 # exactly keepalive: still reused
    pool._idle.append(conns[1])
    conns[1].loop.now += 0.5
    assert pool._take() is None and conns[1].transport.closes == 1
