"""A lean HTTP/1.1 client for the Client's short requests (everything but watches).

Every component's requests are small JSON bodies to one apiserver: a binding per pod from the
scheduler, a status patch per pod and a Lease renewal per node every 10 s from the hollow
kubelets. aiohttp's client path (URL objects, header multidicts, payload objects, timers, a
response object and stream per request) cost about as much CPU as the request's own TLS and
JSON work in py-spy, so these requests go through this module instead: a pool of kept-alive
connections (asyncio Protocols, TLS from the kubeconfig's context), one write per request with
the constant headers prepared once, and a parser for the one reply each connection waits for
(Content-Length, chunked, or until the server closes).

Failures look like aiohttp's, so callers that know those keep working: a connection that cannot
be made raises `aiohttp.ClientOSError` (an OSError), one the server drops before its reply
`aiohttp.ServerDisconnectedError`, a malformed reply `aiohttp.ClientConnectionError`; a timeout is
`TimeoutError`. A request that found its reused connection closed under it before any reply is
sent again once if its method is idempotent (as aiohttp does); a POST or PATCH is not.

Deadlines: a request's `timeout` is kept as a deadline on its connection, and one timer per pool
(armed while requests are waiting, every `SWEEP_S`) fails and closes the connections past theirs
with `TimeoutError`. A timer per request (`asyncio.timeout`: a handle pushed on and removed from the
loop's timer heap each time) was 2-8 % of the scheduler's and hollow kubelets' CPU in py-spy; a
deadline here fires up to SWEEP_S late, which no caller of seconds-long timeouts notices.

Warm-up: a caller that is about to have many requests in flight (the scheduler when its bindings
pile up) can have the pool open idle connections ahead of need (`keep_warm(n)`, `prewarm(n)`),
a few at a time in the background, so a burst reuses connections instead of paying a TLS
handshake per extra request in flight in the middle of it (~2 ms of CPU on each side here). A
connection opened ahead of need is idle from the moment it is open and follows the same
keepalive rule as any other.

A caller with many small writes in flight at once pipelines them instead (pipelined.py).
"""
from __future__ import annotations

import asyncio
import re
import socket
import ssl
from urllib.parse import quote, urlsplit

import aiohttp

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_UNSAFE = re.compile(r"[^\x21-\x7e]")          # what cannot stand in a request line as it is
MAX_HEAD = 64 * 1024
SWEEP_S = 0.25                                 # how often waiting requests are checked for their deadline
WARM_PARALLEL = 4                              # connections a warm-up opens at once


HEADS_KEPT = 256                               # reply heads read_head remembers (then it starts over),
HEAD_KEPT_MAX = 512                            # each of at most this many bytes
_heads: dict[bytes, tuple[int, int | None, bool, bool]] = {}


def read_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, Content-Length or None, chunked, the server will close) of a reply's head (its
    bytes before the blank line); ValueError when it is no HTTP/1.x reply head. The apiserver's
    replies repeat a few heads (they differ by status, length and the second in their Date), so
    the answer for a head seen before is looked up instead of read again (`parse_head`)."""
    got = _heads.get(head)
    if got is None:
        got = parse_head(head)
        if len(head) <= HEAD_KEPT_MAX:
            if len(_heads) >= HEADS_KEPT:
                _heads.clear()
            _heads[head] = got
    return got


def parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """read_head's answer, read from the head's text."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"status line {lines[0][:60]!r}")
    status = int(rest[:3])
    length, chunked, close = None, False, version == "HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            v = value.strip().lower()
            close = v == "close" or (close and v != "keep-alive")
    return status, length, chunked, close


def no_delay(transport) -> None:
    """Send small writes at once (no Nagle delay) on a transport's TCP socket, if it has one."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass


class Connection(asyncio.Protocol):
    """One kept-alive connection; `exchange()` sends a request and waits for its reply."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False                  # has waited idle in the pool (carried a request, or opened ahead
                                           # of need): the server may have closed it meanwhile
        self.idle_since = 0.0
        self._buf = bytearray()
        self._reply: asyncio.Future | None = None
        self._got_bytes = False
        self._head: tuple | None = None    # (status, length, chunked, close) once the head is in
        self._pos = 0                      # chunked: where the next chunk-size line starts
        self._body = bytearray()
        self._no_body = False
        self.deadline = 0.0                # loop time by which the reply must be in (0: none)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        no_delay(transport)

    def data_received(self, data: bytes) -> None:
        if self._reply is None or self._reply.done():
            self.close()                   # nothing was asked: the stream is out of step
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except ValueError as e:
            self._fail(aiohttp.ClientConnectionError(f"malformed HTTP reply: {e}"))
            self.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        r = self._reply
        if r is None or r.done():
            return
        h = self._head
        if h is not None and h[1] is None and not h[2]:     # body delimited by the close
            r.set_result((h[0], bytes(self._buf), True))
            return
        err = aiohttp.ServerDisconnectedError("the apiserver closed the connection before its reply")
        err.before_reply = not self._got_bytes
        r.set_exception(err)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- one exchange -------------------------------------------------------------------------

    async def exchange(self, data: bytes, no_body: bool) -> tuple[int, bytes, bool]:
        """Send one request's bytes; (status, body, the server will close) of its reply."""
        self._buf.clear()
        self._body.clear()
        self._head, self._pos, self._got_bytes, self._no_body = None, 0, False, no_body
        self._reply = self.loop.create_future()
        self.used = True
        self.transport.write(data)
        try:
            return await self._reply
        finally:
            self._reply = None

    def _fail(self, exc: BaseException) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(exc)

    def _parse(self) -> None:
        buf = self._buf
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise ValueError("header section too long")
                return
            status, length, chunked, close = read_head(bytes(buf[:end]))
            del buf[:end + 4]
            if 100 <= status < 200:
                continue                   # an interim reply (100 Continue): the real one follows
            if self._no_body or status in (204, 304):
                length, chunked = 0, False
            self._head = (status, length, chunked, close)
        status, length, chunked, close = self._head
        if chunked:
            self._chunks(status, close)
        elif length is not None:
            if len(buf) >= length:
                self._reply.set_result((status, bytes(buf[:length]), close))
        # else: the body ends when the server closes the connection (connection_lost)

    def _chunks(self, status: int, close: bool) -> None:
        buf, pos = self._buf, self._pos
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
            if size == 0:
                end = buf.find(b"\r\n\r\n", eol) if buf[eol + 2:eol + 4] != b"\r\n" else eol
                if end < 0:
                    break                  # trailers not all in yet
                self._reply.set_result((status, bytes(self._body), close))
                return
            if len(buf) < eol + 2 + size + 2:
                break
            self._body += buf[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
        del buf[:pos]
        self._pos = 0


class ConnectionPool:
    """Kept-alive connections to one server, taken most recently used first; idle ones older
    than `keepalive` seconds are closed instead of reused (the apiserver closes its idle ones
    after 75 s, so a request never races that close). The idle list is in the order the
    connections became idle (a returned one, or one opened ahead of need, is appended), so the
    oldest are at its front."""

    def __init__(self, base: str, ssl_context: ssl.SSLContext | None, headers: dict[str, str], *,
                 server_hostname: str | None = None, keepalive: float = 60.0):
        u = urlsplit(base)
        self.https = u.scheme == "https"
        self.host = u.hostname or "localhost"
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.ssl = ssl_context if self.https else None
        if self.https and self.ssl is None:
            self.ssl = ssl.create_default_context()
        self.server_hostname = server_hostname
        self.keepalive = keepalive
        host = u.netloc.rpartition("@")[2]
        fixed = {"Host": host, **headers}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._idle: list[Connection] = []
        self._busy: set[Connection] = set()     # connections waiting for a reply with a deadline
        self._sweep: asyncio.TimerHandle | None = None
        self._closed = False
        self._in_use = 0                        # requests in flight (each holds or is opening one connection)
        self._opening = 0                       # connections a warm-up is opening
        self._warming: asyncio.Task | None = None

    async def request(self, method: str, target: str, body: bytes | None = None,
                      content_type: str = "application/json", timeout: float | None = None) -> tuple[int, bytes]:
        """(status, body) of one request; `target` is the path and query. With `timeout`
        (seconds), TimeoutError once that long has passed without the whole reply (connecting
        included), up to SWEEP_S later."""
        data = self._encode(method, target, body, content_type)
        no_body = method == "HEAD"
        deadline = 0.0
        self._in_use += 1                  # counted for warm-ups (size): this request's connection
        try:
            while True:
                conn = self._take()
                if conn is None:
                    if timeout is None:
                        conn = await self._connect()
                    else:
                        left = timeout if not deadline else deadline - asyncio.get_running_loop().time()
                        async with asyncio.timeout(left):
                            conn = await self._connect()
                if timeout is not None:
                    if not deadline:
                        deadline = conn.loop.time() + timeout
                    conn.deadline = deadline
                    self._busy.add(conn)
                    if self._sweep is None:
                        self._sweep = conn.loop.call_later(SWEEP_S, self._check_deadlines)
                reused = conn.used
                try:
                    status, payload, close = await conn.exchange(data, no_body)
                except aiohttp.ServerDisconnectedError as e:
                    conn.close()
                    if reused and method in IDEMPOTENT and getattr(e, "before_reply", False):
                        continue               # the server had closed it while idle: once more, fresh
                    raise
                except BaseException:
                    conn.close()               # cancelled or timed out mid-reply: out of step
                    raise
                finally:
                    self._busy.discard(conn)
                if close or self._closed:
                    conn.close()
                else:
                    conn.idle_since = conn.loop.time()
                    self._idle.append(conn)
                return status, payload
        finally:
            self._in_use -= 1

    def _encode(self, method: str, target: str, body: bytes | None, content_type: str) -> bytes:
        """A request's bytes: its line, the constant headers, the body's type and length."""
        if _UNSAFE.search(target):
            target = quote(target, safe="/?&=:@!$'()*+,;%-._~")
        head = [f"{method} {self.prefix}{target} HTTP/1.1\r\n".encode("latin-1"), self._fixed]
        if body is not None:
            head.append(f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode("latin-1"))
        head.append(b"\r\n")
        if body:
            head.append(body)
        return b"".join(head)

    def size(self) -> int:
        """Connections the pool holds: idle ones within keepalive, those of requests in flight
        (or being opened for them), those a warm-up is opening."""
        self._prune()
        return len(self._idle) + self._in_use + self._opening

    def keep_warm(self, n: int) -> None:
        """Have the pool hold `n` connections: when it holds fewer and no warm-up runs, start
        one in the background (`prewarm`). Cheap when the pool is warm; needs a running loop."""
        if self._warming is not None or self._closed or self.size() >= n:
            return
        self._warming = asyncio.get_running_loop().create_task(self.prewarm(n))
        self._warming.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Task) -> None:
        self._warming = None
        if not task.cancelled():
            task.exception()                    # retrieved: a failed warm-up is not an error

    async def prewarm(self, n: int, parallel: int = WARM_PARALLEL) -> int:
        """Open idle connections, `parallel` at a time, until the pool holds `n` (see `size`);
        how many were opened. At most `n` are opened (a keepalive shorter than a handshake
        cannot keep it going); a connection that cannot be made ends the warm-up with its error
        (requests then connect, and fail, on their own); closing the pool ends it too."""
        opened = tried = 0
        while not self._closed and tried < n:
            missing = n - self.size()
            if missing <= 0:
                break
            k = min(missing, parallel, n - tried)
            tried += k
            self._opening += k
            try:
                got = await asyncio.gather(*(self._open_idle() for _ in range(k)), return_exceptions=True)
            finally:
                self._opening -= k
            opened += sum(1 for g in got if g is True)
            err = next((g for g in got if isinstance(g, BaseException)), None)
            if err is not None:
                raise err
        return opened

    async def _open_idle(self) -> bool:
        conn = await self._connect()
        # nothing awaited from here on: the connection is either the pool's or closed
        if self._closed or conn.closed:
            conn.close()
            return False
        conn.used = True                        # idle from now: the server may close it as any idle one
        conn.idle_since = conn.loop.time()
        self._idle.append(conn)
        return True

    def _prune(self) -> None:
        """Close and drop the idle connections the keepalive rule (`_take`) refuses: every idle
        one goes through `_take`, and the ones it hands back return to the list in their order.
        Not on the request path (size(): warm-ups), so it may pay a call per connection."""
        idle = self._idle
        kept = []
        while (conn := self._take()) is not None:
            kept.append(conn)
        kept.reverse()
        idle += kept

    def _check_deadlines(self) -> None:
        """The pool's timer: fail the requests past their deadline (their connections are out of
        step, so they are closed); armed again while any request waits."""
        self._sweep = None
        if not self._busy:
            return
        loop = next(iter(self._busy)).loop
        now = loop.time()
        for conn in [c for c in self._busy if c.deadline <= now]:
            self._busy.discard(conn)
            conn._fail(TimeoutError("no reply from the apiserver in time"))
            conn.close()
        if self._busy:                 # closing the pool leaves these in flight: they keep theirs
            self._sweep = loop.call_later(SWEEP_S, self._check_deadlines)

    def _take(self) -> Connection | None:
        """The most recently idle connection the keepalive rule lets us reuse, or None. The rule's
        one home (`_prune` applies it through here): a connection the server closed is dropped,
        one idle more than `keepalive` seconds is closed and dropped (exactly keepalive is kept)."""
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if conn.loop.time() - conn.idle_since > self.keepalive:
                conn.close()
                continue
            return conn
        return None

    async def _connect(self, protocol=Connection):
        if self._closed:
            raise aiohttp.ClientConnectionError("the client is closed")
        loop = asyncio.get_running_loop()
        kw = {}
        if self.ssl is not None:
            kw = {"ssl": self.ssl, "server_hostname": self.server_hostname or self.host}
        try:
            _, conn = await loop.create_connection(lambda: protocol(loop), self.host, self.port, **kw)
        except ssl.SSLError:
            raise
        except OSError as e:
            raise aiohttp.ClientOSError(e.errno, f"cannot connect to {self.host}:{self.port}: {e.strerror or e}") from e
        return conn

    def close(self) -> None:
        self._closed = True
        if self._warming is not None:
            self._warming.cancel()
        for conn in self._idle:
            conn.close()
        self._idle.clear()
