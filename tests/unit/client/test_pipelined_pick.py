"""PipelinedPool._pick: the connection each request goes to, against the walk it replaced (kept
here as `reference_pick`). Two pools run the same random sequences of requests, writes, replies,
cancellations, server closes and clock jumps past keepalive on a fake loop (a clock and a queue of
callbacks run when the sequence says); one picks with _pick, the other with the reference. At
every pick both must answer the same connection (or None), close the same connections and have
written the same bytes on each."""
from __future__ import annotations

import random

import pytest

from labkube.client.pipelined import PipelinedConnection, PipelinedPool, _Pipelined

KEEPALIVE = 60.0


def reference_pick(pool: PipelinedPool) -> PipelinedConnection | None:
    """PipelinedPool._pick before the pool tracked its connections about to write (2022d44)."""
    conns = pool._conns
    if any(c.closed for c in conns):
        conns[:] = [c for c in conns if not c.closed]
    best = idle = None
    now = None
    for c in conns:
        if not c.sent:
            if c.queued:
                return c                # written at the end of this loop pass
            if idle is None:
                if now is None:
                    now = c.loop.time()
                if now - c.idle_since > pool.keepalive:
                    c.close()
                    continue
                idle = c
        elif best is None or c.load() < best.load():
            best = c
    if idle is not None:
        return idle
    if best is None or len(conns) + len(pool._opens) < pool.connections:
        return None
    return best


class FakeLoop:
    """A loop time the test sets and the callbacks call_soon queued, run when the test says."""

    def __init__(self):
        self.now = 1000.0
        self.soon: list[FakeHandle] = []

    def time(self) -> float:
        return self.now

    def call_soon(self, fn, *args):
        h = FakeHandle(fn, args)
        self.soon.append(h)
        return h

    def run_soon(self) -> None:
        while self.soon:
            h = self.soon.pop(0)
            if not h.cancelled:
                h.fn(*h.args)


class FakeHandle:
    def __init__(self, fn, args):
        self.fn, self.args, self.cancelled = fn, args, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeFuture:
    def __init__(self):
        self.result = self.exception = None
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, r) -> None:
        assert not self._done
        self._done, self.result = True, r

    def set_exception(self, e) -> None:
        assert not self._done
        self._done, self.exception = True, e


class FakeTransport:
    """Records the writes; a close reaches the connection (connection_lost) in a later callback."""

    def __init__(self, conn: PipelinedConnection, loop: FakeLoop):
        self.conn, self.loop, self.written, self.closing = conn, loop, [], False

    def get_extra_info(self, name, default=None):
        return default

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.loop.call_soon(self.conn.connection_lost, None)


def reply(n: int, close: bool = False) -> bytes:
    body = b'{"n":%d}' % n
    extra = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


class Side:
    """One pool on its own fake loop, picking with `pick`."""

    def __init__(self, pick, connections: int):
        self.loop = FakeLoop()
        self.pool = PipelinedPool("http://127.0.0.1:1", None, {}, keepalive=KEEPALIVE, connections=connections,
                                  batch=3)
        self.pick = pick
        self.futures: list[FakeFuture] = []
        self.opened: list[PipelinedConnection] = []     # every connection, in the order opened

    def open(self, late: float = 0.0) -> PipelinedConnection:
        """A connection of the pool's, made `late` seconds before it joins the pool (its handshake)."""
        conn = self.pool._protocol(self.loop)
        self.loop.now += late
        conn.connection_made(FakeTransport(conn, self.loop))
        self.pool._append(conn)
        self.opened.append(conn)
        return conn

    def state(self):
        return [(c.closed, c.transport.written) for c in self.opened], \
               [(f.done(), f.result) for f in self.futures]


def step(sides: list[Side], rng: random.Random, n: int) -> None:
    op = rng.choices(["request", "run", "reply", "advance", "cancel", "close", "open"],
                     [10, 4, 5, 2, 1, 1, 1])[0]
    a = sides[0]
    if op == "request":
        picked = [s.pick(s.pool) for s in sides]
        idx = [s.opened.index(p) if p is not None else None for s, p in zip(sides, picked)]
        assert idx[0] == idx[1], (n, idx)
        assert sides[0].state() == sides[1].state(), n
        for s, p in zip(sides, picked):
            if p is None:
                p = s.open()
            f = FakeFuture()
            s.futures.append(f)
            p.submit(_Pipelined(b"R%d " % n, False, 0.0, f))
    elif op == "run":
        for s in sides:
            s.loop.run_soon()
    elif op == "advance":
        dt = rng.choice([0.5, 10.0, 30.0, 59.0, 61.0])
        for s in sides:
            s.loop.now += dt
    elif op == "open":
        late = rng.choice([0.0, 0.0, 1.0, 61.0])
        for s in sides:
            s.open(late)
    else:
        live = [i for i, c in enumerate(a.opened) if not c.closed]
        if op == "reply":
            live = [i for i in live if a.opened[i].sent]
        if not live:
            return
        i = rng.choice(live)
        k = rng.randint(1, len(a.opened[i].sent)) if op == "reply" else 0
        close = rng.random() < 0.1
        waiting = [j for j, f in enumerate(a.futures) if not f.done()]
        j = rng.choice(waiting) if waiting else None
        for s in sides:
            c = s.opened[i]
            if op == "reply":
                c.data_received(b"".join(reply(n * 10 + m, close and m == k - 1) for m in range(k)))
            elif op == "close":
                c.transport.close()
            elif op == "cancel" and j is not None:
                s.futures[j].set_exception(TimeoutError("cancelled"))
    for s in sides:
        assert all(c in s.pool._conns and c._flushing is not None for c in s.pool._ready if not c.closed)


@pytest.mark.parametrize("seed", range(60))
def test_pick_same_as_reference(seed):
    rng = random.Random(seed)
    connections = rng.choice([1, 2, 3, 8])
    sides = [Side(PipelinedPool._pick, connections), Side(reference_pick, connections)]
    for n in range(400):
        step(sides, rng, n)
    assert sides[0].state() == sides[1].state()


def test_pick_takes_the_connection_about_to_write_without_a_walk():
    s = Side(PipelinedPool._pick, 4)
    conns = [s.open() for _ in range(4)]
    s.pool._walk()                        # records the floor
    conns[2].submit(_Pipelined(b"R ", False, 0.0, FakeFuture()))
    walked = []
    s.pool._walk = lambda: walked.append(1)
    assert s.pool._pick() is conns[2] and not walked
    s.loop.now += KEEPALIVE + 1           # an idle one may be past keepalive now: walk
    s.pool._pick()
    assert walked


def test_a_connection_idle_since_before_it_joined_the_pool_is_closed_as_before():
    """A connection whose handshake outlasted keepalive joins the pool already past it, after a
    walk; a request then queued on a connection opened after it: the walk closes it on the way,
    so must _pick."""
    got = []
    for pick in (PipelinedPool._pick, reference_pick):
        s = Side(pick, 8)
        busy = s.open()
        busy.submit(_Pipelined(b"R0 ", False, 0.0, FakeFuture()))
        s.loop.run_soon()
        late = s.pool._protocol(s.loop)     # its handshake starts
        s.loop.now += KEEPALIVE + 1
        assert s.pick(s.pool) is None       # a walk: the busy one only, fewer than 8
        late.connection_made(FakeTransport(late, s.loop))
        s.pool._append(late)
        s.opened.append(late)
        fresh = s.open()
        fresh.submit(_Pipelined(b"R1 ", False, 0.0, FakeFuture()))
        assert s.pick(s.pool) is fresh
        got.append((late.closed, s.state()))
    assert got[0] == got[1] and got[0][0]
