"""HTTP/1.1 pipelining for a caller with many small writes in flight at once (the scheduler's
bindings, the hollow kubelets' pod status writes; `Client.pipelined`): a PipelinedPool keeps a
few connections, each carrying the requests queued on it in one write when it has none in
flight, their replies read back in order; the apiserver answers such a read in one pass and one
write (apiserver/fastget.py). Requests, failures, deadlines and warm-ups otherwise as http.py's
ConnectionPool, whose request encoding and reply-head reading it shares.
"""
from __future__ import annotations

import asyncio
import collections
import ssl

import aiohttp

from .http import IDEMPOTENT, MAX_HEAD, SWEEP_S, WARM_PARALLEL, ConnectionPool, no_delay, read_head


class NotSent(aiohttp.ServerDisconnectedError):
    """The connection a pipelined request was queued on closed before the request was written:
    it never reached the server, so it may go out on another connection, whatever its method."""
    before_reply = True


class _Pipelined:
    """A request queued or in flight on a PipelinedConnection: its bytes, whether its reply has
    no body (HEAD), its deadline (loop time, 0: none) and the future of (status, body, close)."""

    __slots__ = ("data", "no_body", "deadline", "future")

    def __init__(self, data: bytes, no_body: bool, deadline: float, future: asyncio.Future):
        self.data, self.no_body, self.deadline, self.future = data, no_body, deadline, future


def one_reply(buf: bytearray, no_body: bool) -> tuple[int, bytes | None, bool, int] | None:
    """(status, body, the server will close, where the reply ends) of the reply at the front of
    `buf` once it is all there (any interim 1xx replies before it skipped), None until then; a
    body that ends with the connection (no length, not chunked) is None, with the end where it
    starts. ValueError when malformed."""
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) - start > MAX_HEAD:
                raise ValueError("header section too long")
            return None
        status, length, chunked, close = read_head(bytes(buf[start:end]))
        start = end + 4
        if not 100 <= status < 200:
            break
    if no_body or status in (204, 304):
        return status, b"", close, start
    if chunked:
        body, pos = bytearray(), start
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
            if size == 0:
                if buf[eol + 2:eol + 4] == b"\r\n":
                    return status, bytes(body), close, eol + 4
                trailers = buf.find(b"\r\n\r\n", eol + 2)
                return None if trailers < 0 else (status, bytes(body), close, trailers + 4)
            if len(buf) < eol + 2 + size + 2:
                return None
            body += buf[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
    if length is None:
        return status, None, True, start
    if len(buf) < start + length:
        return None
    return status, bytes(buf[start:start + length]), close, start + length


class PipelinedConnection(asyncio.Protocol):
    """A kept-alive connection carrying pipelined requests: the requests queued on it go out
    together, in one write, when it has none in flight (so that a burst leaves as a few writes of
    many requests, and the server reads each such write at once: fastget.py answers such a read
    in one pass and one write); their replies come back in order and answer them in order. Queued
    requests are written at the end of the loop pass they were queued in (call_soon), so that
    those queued together go together. At most `batch` requests and about `batch_bytes` bytes go
    in one write (a TLS record holds 16 KiB: a write within it reaches the server in one read).
    `ready`: a dict shared with the connection's pool, holding the connection (as a key) while its
    write is scheduled (PipelinedPool._pick)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batch: int = 16, batch_bytes: int = 16000,
                 ready: dict | None = None):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.batch, self.batch_bytes = batch, batch_bytes
        self.queued: collections.deque[_Pipelined] = collections.deque()   # not written yet
        self.sent: collections.deque[_Pipelined] = collections.deque()     # written, replies awaited in order
        self.idle_since = loop.time()
        self._buf = bytearray()
        self._flushing: asyncio.Handle | None = None
        self._ready = ready if ready is not None else {}

    def load(self) -> int:
        return len(self.queued) + len(self.sent)

    def connection_made(self, transport) -> None:
        self.transport = transport
        no_delay(transport)

    def submit(self, p: _Pipelined) -> None:
        """Queue a request; it is written with the others queued in this loop pass, or when the
        replies of those in flight are all in."""
        self.queued.append(p)
        if not self.sent and self._flushing is None:
            self._flushing = self.loop.call_soon(self._flush)
            self._ready[self] = None

    def _flush(self) -> None:
        self._flushing = None
        self._ready.pop(self, None)
        if self.closed or self.sent:
            return
        queued, out, size = self.queued, [], 0
        while queued and len(out) < self.batch and (not out or size + len(queued[0].data) <= self.batch_bytes):
            p = queued.popleft()
            if p.future.done():        # cancelled or past its deadline before it was written
                continue
            out.append(p)
            size += len(p.data)
        if not out:
            self.idle_since = self.loop.time()
            return
        self.sent.extend(out)
        self.transport.write(b"".join([p.data for p in out]))

    def data_received(self, data: bytes) -> None:
        if not self.sent:
            self.close()                   # nothing was asked: the stream is out of step
            return
        buf = self._buf
        buf += data
        try:
            while self.sent:
                got = one_reply(buf, self.sent[0].no_body)
                if got is None or got[1] is None:   # not all in yet, or ends with the connection
                    break
                status, body, close, end = got
                del buf[:end]
                p = self.sent.popleft()
                if not p.future.done():    # not cancelled or timed out meanwhile
                    p.future.set_result((status, body, close))
                if close:
                    self.close()
                    return
        except ValueError as e:
            p = self.sent.popleft()
            if not p.future.done():
                p.future.set_exception(aiohttp.ClientConnectionError(f"malformed HTTP reply: {e}"))
            self.close()
            return
        if not self.sent:
            if buf:
                self.close()               # bytes beyond the replies asked for: out of step
            elif self.queued:
                self._flushing = self.loop.call_soon(self._flush)
                self._ready[self] = None
            else:
                self.idle_since = self.loop.time()

    def connection_lost(self, exc) -> None:
        self.closed = True
        sent, queued = self.sent, self.queued
        if sent:
            first = sent.popleft()
            if not first.future.done():
                try:
                    got = one_reply(self._buf, first.no_body)
                except ValueError:
                    got = None
                if got is not None and got[1] is None:     # the body ended with the connection
                    first.future.set_result((got[0], bytes(self._buf[got[3]:]), True))
                else:
                    err = aiohttp.ServerDisconnectedError("the apiserver closed the connection before its reply")
                    err.before_reply = not self._buf
                    first.future.set_exception(err)
            for p in sent:                  # written, no byte of their replies came
                if not p.future.done():
                    err = aiohttp.ServerDisconnectedError("the apiserver closed the connection before its reply")
                    err.before_reply = True
                    p.future.set_exception(err)
        for p in queued:
            if not p.future.done():
                p.future.set_exception(NotSent("the connection closed before the request was written"))
        sent.clear()
        queued.clear()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def expire(self, now: float) -> bool:
        """Fail the requests past their deadline with TimeoutError; one written that has no reply
        yet leaves the connection out of step, so it is closed (the others on it then fail as on
        any close: retried when idempotent or not yet written). Whether any request with a
        deadline is left on it."""
        left = False
        for p in self.queued:
            if p.deadline and not p.future.done():
                if p.deadline <= now:
                    p.future.set_exception(TimeoutError("no reply from the apiserver in time"))
                else:
                    left = True
        for p in self.sent:
            if p.deadline and not p.future.done():
                if p.deadline <= now:
                    p.future.set_exception(TimeoutError("no reply from the apiserver in time"))
                    self.close()
                    return False
                left = True
        return left


class PipelinedPool(ConnectionPool):
    """A few kept-alive connections that carry many requests each, pipelined (HTTP/1.1): for a
    caller with many small writes in flight at once (the scheduler's bindings, the hollow
    kubelets' pod status writes). Each request on a connection of its own costs both sides a
    read, a TLS record, a write and an event-loop pass per request; pipelined, a burst shares
    them (PipelinedConnection), and the apiserver answers such a burst in one pass (fastget.py).

    A request goes to a connection whose queued requests are about to be written (none in
    flight), else to an idle one, else to a new one while fewer than `connections` are open (one
    is opened at a time: requests meanwhile wait for it), else to the least loaded one (written
    when that one's requests in flight are answered). Failures
    as ConnectionPool's: a request written on a connection that closes before any byte of its
    reply is sent again once if its method is idempotent, else it fails with
    aiohttp.ServerDisconnectedError; a request still queued there goes out on another connection
    whatever its method (it never reached the server). Deadlines as ConnectionPool's (SWEEP_S)."""

    def __init__(self, base: str, ssl_context: ssl.SSLContext | None, headers: dict[str, str], *,
                 server_hostname: str | None = None, keepalive: float = 60.0, connections: int = 8,
                 batch: int = 16, batch_bytes: int = 16000):
        super().__init__(base, ssl_context, headers, server_hostname=server_hostname, keepalive=keepalive)
        if connections < 1:
            raise ValueError(f"connections must be at least 1, got {connections}")
        self.connections = connections
        self.batch, self.batch_bytes = batch, batch_bytes
        self._conns: list[PipelinedConnection] = []
        self._opens: list[asyncio.Task] = []   # connections being opened for requests
        # the connections whose queued requests are about to be written (their write scheduled)
        self._ready: dict[PipelinedConnection, None] = {}
        # a loop time no open connection has been idle since before (-inf: unknown)
        self._idle_floor = float("-inf")

    async def request(self, method: str, target: str, body: bytes | None = None,
                      content_type: str = "application/json", timeout: float | None = None) -> tuple[int, bytes]:
        """(status, body) of one request, as ConnectionPool.request."""
        data = self._encode(method, target, body, content_type)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else 0.0
        retried = False
        while True:
            conn = self._pick()
            if conn is None:            # open a connection (or wait for the one being opened) and take it
                opening = self._opens[0] if self._opens else self._open()
                if timeout is None:
                    conn = await asyncio.shield(opening)
                else:
                    async with asyncio.timeout(deadline - loop.time()):
                        conn = await asyncio.shield(opening)
                if conn.closed:
                    continue
            p = _Pipelined(data, method == "HEAD", deadline, loop.create_future())
            conn.submit(p)
            if deadline and self._sweep is None:
                self._sweep = loop.call_later(SWEEP_S, self._check_deadlines)
            try:
                status, payload, _ = await p.future
            except NotSent:
                continue
            except aiohttp.ServerDisconnectedError as e:
                if not retried and method in IDEMPOTENT and getattr(e, "before_reply", False):
                    retried = True
                    continue
                raise
            return status, payload

    def _pick(self) -> PipelinedConnection | None:
        """The connection for the next request (as the class says), None: open one. Most picks
        find one connection about to write, and no connection idle for longer than keepalive
        (none idle since before `_idle_floor`): that one is the walk's answer (the only one it
        would return early, with nothing closed on the way), so it is taken without the walk."""
        ready = self._ready
        if len(ready) == 1:
            for c in ready:
                if not c.closed and c.loop.time() - self._idle_floor <= self.keepalive:
                    return c
        return self._walk()

    def _walk(self) -> PipelinedConnection | None:
        """_pick by a walk over the connections in the order they were opened: it also drops the
        closed ones, and closes the idle ones past keepalive it meets before the first idle one
        within it. A walk over them all records `_idle_floor` (the walk's time, or the oldest
        idle_since of the idle connections left open, if older)."""
        conns = self._conns
        if any(c.closed for c in conns):
            conns[:] = [c for c in conns if not c.closed]
        if not conns:
            return None
        keepalive = self.keepalive
        best = idle = None
        best_load = 0
        floor = now = conns[0].loop.time()
        for c in conns:
            sent = c.sent
            if not sent:
                if c.queued:
                    return c                # written at the end of this loop pass
                since = c.idle_since
                if idle is None:
                    if now - since > keepalive:
                        c.close()
                        continue
                    idle = c
                if since < floor:
                    floor = since
            else:
                load = len(c.queued) + len(sent)
                if best is None or load < best_load:
                    best, best_load = c, load
        self._idle_floor = floor
        if idle is not None:
            return idle
        if best is None or len(conns) + len(self._opens) < self.connections:
            return None
        return best

    def _open(self) -> asyncio.Task:
        """Start opening a connection for requests (in _opens until it is open, then one of the
        pool's); the task fails with the connection's error."""
        task = asyncio.get_running_loop().create_task(self._connect(self._protocol))
        self._opens.append(task)
        task.add_done_callback(self._opened)
        return task

    def _opened(self, task: asyncio.Task) -> None:
        self._opens.remove(task)
        if task.cancelled() or task.exception() is not None:
            return                      # the requests waiting for it get its error
        conn = task.result()
        if self._closed:
            conn.close()
        else:
            self._append(conn)

    def _append(self, conn: PipelinedConnection) -> None:
        self._conns.append(conn)
        if conn.idle_since < self._idle_floor:
            self._idle_floor = conn.idle_since

    def _protocol(self, loop: asyncio.AbstractEventLoop) -> PipelinedConnection:
        return PipelinedConnection(loop, self.batch, self.batch_bytes, self._ready)

    def size(self) -> int:
        """Connections open or being opened."""
        return sum(1 for c in self._conns if not c.closed) + len(self._opens) + self._opening

    def keep_warm(self, n: int) -> None:
        """Have up to `connections` of the `n` asked for open (ConnectionPool.keep_warm)."""
        super().keep_warm(min(n, self.connections))

    async def prewarm(self, n: int, parallel: int = WARM_PARALLEL) -> int:
        """Open up to `connections` of the `n` asked for (ConnectionPool.prewarm)."""
        return await super().prewarm(min(n, self.connections), parallel)

    async def _open_idle(self) -> bool:
        conn = await self._connect(self._protocol)     # prewarm counts it as being opened
        if self._closed or conn.closed:
            conn.close()
            return False
        self._append(conn)
        return True

    def _check_deadlines(self) -> None:
        """The pool's timer: fail the requests past their deadline (PipelinedConnection.expire);
        armed again while any request with a deadline waits."""
        self._sweep = None
        if not self._conns:
            return
        loop = self._conns[0].loop
        now = loop.time()
        left = False
        for c in list(self._conns):
            if not c.closed and c.expire(now):
                left = True
        if left and not self._closed:
            self._sweep = loop.call_later(SWEEP_S, self._check_deadlines)

    def close(self) -> None:
        super().close()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for conn in self._conns:
            conn.close()
        self._conns.clear()             # a connection being opened is closed once open (_opened)
