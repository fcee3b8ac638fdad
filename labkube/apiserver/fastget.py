"""The direct path for the most frequent request: a plain GET of one built-in object.

Controllers, kubelets, kubectl and the Python client read single objects far more often than
anything else, and such a GET does almost no work of its own (the stored JSON text is the
answer). Through aiohttp each one still builds a Request, a Task, a middleware chain, a
Response with a header multidict and a writer - about half of its CPU time. Here the
connection's protocol answers such a request as soon as it is parsed, with the bytes aiohttp
would have sent, and hands every other request to aiohttp unchanged. The same protocol also
starts the direct pod creates of fastcreate.py and the direct writes of fastwrite.py (bindings,
pod status patches, Lease renewals, Event creates), each in a task of its own, and holds the
connection's later requests until such a write has answered. While aiohttp's parser holds no
part of a request, a plain GET, create or write is read from the received bytes by fastparse.py
instead of that parser (data_received). Several requests in one read (a client pipelining them,
client/pipelined.py's PipelinedPool) are answered or started together as far as they are direct, and
their replies go out in request order in one write (_start_pipelined): one read, one reply
write and one event-loop pass for the lot instead of one each.

A request is answered here only when all of this holds, else it takes the aiohttp path (which
also produces every error reply, so 401/404/400 look exactly as before):
  - the connection is idle: no request of it queued or in progress in aiohttp's request loop
    (so responses stay in order), and its transport is not paused for writing (a client that
    does not read its responses meets aiohttp's back-pressure: it waits for the drain),
    it is keep-alive, not upgraded, and access logging is off;
  - HTTP/1.1 GET without a body, `Connection: close` or upgrade; a path without query string,
    %-escapes, dot segments or empty segments that names one object of a built-in resource
    (no subresource; not componentstatuses or the review resources);
  - no Table output asked for in Accept, no Expect header (aiohttp answers 100 Continue first);
  - the TLS peer presented a client certificate the lab CA signed for a member of system:masters
    and impersonates nobody (those are allowed everything: access.py; every other user's
    request is authorized on the aiohttp path);
  - the store answers from memory (`Storage.get_raw_nowait`) and has the object.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpProcessingError, HttpVersion11
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_server import Server

from ..api.resources import Resource
from . import fastcreate, fastparse, fastwrite, keys
from .access import allowed_everything
from .reviews import VIRTUAL
from .routing import plain_target
from .storekeys import key
from .tls import transport_user

log = logging.getLogger(__name__)
_WRITES = ("POST", "PUT", "PATCH")
_NOT_HERE = frozenset(("componentstatuses",) + VIRTUAL)
# path -> storage key of the paths answered here (built-in resources take precedence over custom
# ones in `find`, so a path's key never changes); bounded: emptied when full
_KEYS: dict[str, str] = {}
_KEYS_MAX = 20000
_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nDate: {}\r\nServer: {}\r\n\r\n"


def _resource_target(path: str) -> tuple[Resource, str | None, str] | None:
    """(resource, namespace, name) when `path` names one object of a built-in resource."""
    t = plain_target(path)
    if t is None or t.name is None or t.sub is not None or t.res.custom or t.res.converted or t.res.name in _NOT_HERE:
        return None
    return t.res, t.namespace, t.name


def _one_whole_message(data: bytes, messages, upgraded, tail) -> bool:
    """Whether `data`, given to a parser that held nothing, was exactly one whole request (head,
    and the Content-Length body if any), so that the parser holds nothing again."""
    if len(messages) != 1 or upgraded or tail:
        return False
    end = data.find(b"\r\n\r\n") + 4
    if end < 4:
        return False
    msg, payload = messages[0]
    if payload is EMPTY_PAYLOAD:
        return end == len(data)
    length = msg.headers.get("Content-Length")
    if length is None or not length.isdigit() or "Transfer-Encoding" in msg.headers:
        return False
    return end + int(length) == len(data) and payload.is_eof()


class _Written:
    """What a pipelined run's writes so far touch (fastget's _start_pipelined), so that a write
    to the same object, or to an object a create of the run may have made, ends the run: those
    stay one after another, as they were when each waited for the one before it to answer. An
    object is named by its path without a trailing /binding or /status; a create (a POST to a
    collection) by its collection's path."""

    __slots__ = ("objects", "collections", "parents")

    def __init__(self):
        self.objects: set[str] = set()      # objects written (PUT, PATCH, binding POST)
        self.collections: set[str] = set()  # collections created into (other POSTs)
        self.parents: set[str] = set()      # the collections of the objects written

    def __bool__(self) -> bool:
        return bool(self.objects or self.collections)

    def apart(self, method: str, path: str) -> bool:
        """Whether a write of `method` to `path` touches nothing the run's earlier writes touch;
        if so it is counted in."""
        if method == "POST" and not path.endswith("/binding"):
            if path in self.collections or path in self.parents:
                return False
            self.collections.add(path)
            return True
        obj = path.rpartition("/")[0] if path.endswith(("/binding", "/status")) else path
        parent = obj.rpartition("/")[0]
        if obj in self.objects or parent in self.collections:
            return False
        self.objects.add(obj)
        self.parents.add(parent)
        return True


class _Parser:
    """Wraps the connection's HTTP parser: requests it can answer directly are answered as
    soon as they are parsed and not passed on; everything else is returned as before."""

    def __init__(self, parser, handler: FastRequestHandler):
        self._parser = parser
        self._handler = handler

    def __getattr__(self, name):  # anything else the protocol asks of its parser
        return getattr(self._parser, name)

    def message_consumed(self) -> None:  # once per request aiohttp handles: no __getattr__ detour
        self._parser.message_consumed()

    def feed_data(self, data: bytes):
        handler = self._handler
        at_boundary, handler.at_boundary = handler.at_boundary, False
        try:
            messages, upgraded, tail = self._parser.feed_data(data)
        except HttpProcessingError as exc:
            if handler.held is None:  # aiohttp's data_received queues its 400 reply
                raise
            # bytes that are no request while a direct write runs: the 400 reply aiohttp's
            # data_received would queue waits behind the write like any later request (else the
            # loop sends it and closes at once, and the write's reply is lost)
            handler.held.append((_ErrInfo(status=400, exc=exc, message=exc.message), EMPTY_PAYLOAD))
            return [], False, b""
        # b"": aiohttp re-reading what it held back (nothing, when at a boundary)
        handler.at_boundary = at_boundary and (not data and not messages and not upgraded
                                               or _one_whole_message(data, messages, upgraded, tail))
        if messages and handler.held is not None:  # a direct write runs: later requests wait behind it
            handler.held.extend(messages)
            return [], upgraded, tail
        if not messages or upgraded:
            return messages, upgraded, tail
        served = 0
        for msg, payload in messages:
            if not handler.answer(msg, payload):
                break
            self._parser.message_consumed()
            served += 1
            if handler.held is not None:  # it was a write, now running: the rest wait for it
                handler.held.extend(messages[served:])
                return [], upgraded, tail
        if served:
            messages = messages[served:]
        if messages:
            self._handler.handed_over = True
        return messages, upgraded, tail


class FastRequestHandler(RequestHandler):
    """aiohttp's connection protocol with the direct GET and write paths in front of it."""

    __slots__ = ("handed_over", "held", "_write_task", "at_boundary")

    def connection_made(self, transport) -> None:
        # aiohttp's parser holds no part of a request: every byte it was given made whole requests
        self.at_boundary = True
        self.handed_over = False  # whether aiohttp's request loop has had any request of this connection
        self.held: list | None = None  # while a direct write runs: the requests that arrived since
        self._write_task: asyncio.Task | None = None
        super().connection_made(transport)
        if self._parser is not None:
            self._parser = _Parser(self._parser, self)

    def answer(self, msg, payload) -> bool:
        """Answer `msg` on this connection now if it is a direct GET, or start it if it is a direct
        create or write (fastcreate.py, fastwrite.py); False: aiohttp does."""
        if msg.method != "GET":
            return msg.method in _WRITES and self._start_write(msg, payload)
        if payload is not EMPTY_PAYLOAD or msg.version != HttpVersion11 or msg.should_close or msg.upgrade:
            return False
        headers = msg.headers
        if "Expect" in headers:  # aiohttp: 100 Continue
            return False
        return self._answer_get(msg.path, headers.get("Accept", ""), headers)

    def data_received(self, data: bytes) -> None:
        """A connection's bytes: while aiohttp's parser holds nothing of an unfinished request
        (at_boundary) and no direct write runs, a plain GET, create or write is read here
        (fastparse.py) and answered or started without that parser; anything else, and what
        the direct paths do not take, goes to aiohttp's parser."""
        if self.at_boundary and self.held is None and not self._force_close and not self._close:
            if data.startswith(b"GET "):
                get = fastparse.plain_get(data)
                if get is not None and self._answer_get(get[0], get[1], ()):
                    return
                if get is None and self._start_pipelined(data):
                    return
            else:
                w = fastparse.plain_write(data)
                if w is not None and self._start(*w):
                    return
                if w is None and self._start_pipelined(data):
                    return
        super().data_received(data)

    def _start_pipelined(self, data: bytes) -> bool:
        """Several requests in one read (a pipelining client), every one of them direct: answer or
        start them all together. The run's writes run concurrently, each in a task; its replies go
        out in request order, in one write, once all are in (_run_pipelined); requests that arrive
        meanwhile are held and handed to aiohttp's loop after them, as behind a single direct
        write. A read with anything else in it - a request the direct paths do not take, a GET
        after a write (it must see the writes before it, as it would after their replies), a
        second write to an object the read writes already (same-object writes stay one after
        another), an incomplete tail, bytes that are no request - goes to aiohttp's parser whole,
        as before (which answers the direct requests at its front and holds the rest behind the
        first write: _Parser). False: not taken."""
        ends = fastparse.request_ends(data)
        if len(ends) < 2 or ends[-1] != len(data):
            return False
        parts: list = []  # reply bytes (a GET, answered from the store now) or a write's coroutine
        written = _Written()
        for start, stop in zip([0, *ends], ends):
            piece = data[start:stop]
            if piece.startswith(b"GET "):
                get = None if written else fastparse.plain_get(piece)
                part = get and self._get_reply(get[0], get[1], ())
            else:
                w = fastparse.plain_write(piece)
                part = None
                if w is not None and written.apart(w[0], w[1]):
                    part = self._write_reply(*w)
            if part is None:
                for p in parts:
                    if type(p) is not bytes:
                        p.close()  # never started: no change made
                return False
            parts.append(part)
        manager = self._manager
        self._request_count += len(parts)
        manager.requests_count += len(parts)
        if not written:  # GETs only: answered now, as each alone would be
            self.transport.write(b"".join(parts))
            self._answered()
        else:
            loop = self._loop
            self.held = []
            self._write_task = loop.create_task(self._run_pipelined(
                [p if type(p) is bytes else loop.create_task(p) for p in parts]))
        return True

    async def _run_pipelined(self, parts: list) -> None:
        """A pipelined run's task: its replies in request order, in one write once all are in
        (each GET's bytes, each write task's reply), then the requests held meanwhile go on. A
        write that fails (fastwrite/fastcreate reply with a Status; this is their bug) leaves no
        reply to send in its place: the replies before it are sent and the connection is closed,
        so that no later reply is taken for it."""
        replies = []
        try:
            for p in parts:
                replies.append(p if type(p) is bytes else await p)
        except Exception:  # noqa: BLE001 - the held requests must not wait for ever
            log.exception("pipelined direct write on a connection failed")
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.write(b"".join(replies))
                transport.close()
        else:
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.write(b"".join(replies))
        finally:
            self._write_done()

    def _answer_get(self, path: str, accept: str, headers) -> bool:
        """Answer a GET of `path` now if it names one stored built-in object that the peer may
        read without a rule; headers: where allowed_everything looks for Impersonate-*."""
        reply = self._get_reply(path, accept, headers)
        if reply is None:
            return False
        self.transport.write(reply)
        self._request_count += 1
        self._manager.requests_count += 1
        self._answered()
        return True

    def _get_reply(self, path: str, accept: str, headers) -> bytes | None:
        """The reply to a GET of `path` if it names one stored built-in object that the peer may
        read without a rule (as _answer_get sends it), else None."""
        if not self._idle():  # paused: the client is not reading; aiohttp waits for the drain
            return None
        k = _KEYS.get(path)
        if k is None:
            target = _resource_target(path)
            if target is None:
                return None
            if len(_KEYS) >= _KEYS_MAX:
                _KEYS.clear()
            k = _KEYS[path] = key(*target)
        if "as=Table" in accept.replace(" ", ""):
            return None
        transport = self.transport
        if transport is None:
            return None
        if not allowed_everything(transport_user(transport), headers):  # everyone else: RBAC on the aiohttp path
            return None
        manager = self._manager
        reg = manager.app_registry() if manager is not None else None
        if reg is None:
            return None
        hit = reg.storage.get_raw_nowait(k)
        if hit is None:
            return None
        body = hit[0].encode()
        return _HEAD.format(len(body), rfc822_formatted_time(), SERVER_SOFTWARE).encode() + body

    def _idle(self) -> bool:
        """No request of this connection queued or in progress in aiohttp's loop (responses stay in
        order), keep-alive, not closing or upgraded, no access log, writing not paused."""
        return not ((self.handed_over and self._waiter is None) or self._messages or self._request_in_progress
                    or not self._keepalive or self._force_close or self._close or self._logging_enabled
                    or self._upgraded or self._paused)

    def _answered(self) -> None:
        loop = self._loop
        if self._keepalive_timeout > 0:  # as aiohttp's loop does after each request
            self._next_keepalive_close_time = loop.time() + self._keepalive_timeout
            if self._keepalive_handle is None:
                self._keepalive_handle = loop.call_at(self._next_keepalive_close_time, self._process_keepalive)

    def _start_write(self, msg, payload) -> bool:
        """Start `msg`, parsed by aiohttp's parser, if _start takes it; False: aiohttp does."""
        if msg.version != HttpVersion11 or msg.should_close or msg.upgrade:
            return False
        if not payload.is_eof() or payload.exception() is not None:  # the body is not all there
            return False
        return self._start(msg.method, msg.path, msg.headers, None, payload)

    def _start(self, method: str, path: str, headers, raw: bytes | None, payload=None) -> bool:
        """Start a request on this connection if it is a direct create (fastcreate.py) or direct
        write (fastwrite.py) its client may make; False: aiohttp takes it. The body is `raw`, or
        the whole of `payload` (aiohttp's, for a request its parser read)."""
        reply = self._write_reply(method, path, headers, raw, payload)
        if reply is None:
            return False
        self.held = []
        self._request_count += 1
        self._manager.requests_count += 1
        self._write_task = self._loop.create_task(self._run_write(reply))
        return True

    def _write_reply(self, method: str, path: str, headers, raw: bytes | None, payload=None):
        """The coroutine that makes a direct create's or write's change and gives its reply's
        bytes, if the request is one (as _start takes it; not yet running), else None."""
        if not self._idle():
            return None
        manager = self._manager
        app = manager.app if manager is not None else None
        transport = self.transport
        if app is None or transport is None:
            return None
        user = transport_user(transport)
        create = fastcreate.takes(method, path, headers, app._client_max_size)
        if create is not None:
            if not allowed_everything(user, headers):
                return None
        else:
            w = fastwrite.takes(method, path, headers, app._client_max_size)
            if w is None or not fastwrite.allowed(app, w, user, headers):
                return None
        reg = manager.app_registry()
        if reg is None:
            return None
        if raw is None:
            raw = payload.read_nowait(-1)
        agent = headers.get("User-Agent")
        return fastcreate.create(reg, create[0], create[1], raw, agent) if create is not None else \
            fastwrite.write(reg, w, raw, agent, user)

    async def _run_write(self, reply) -> None:
        """A direct write's task: send its response (unless the connection is gone by then; the
        write happened all the same), then pass on the requests held meanwhile."""
        try:
            response = await reply
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.write(response)
        except Exception:  # noqa: BLE001 - a failed write must not keep the held requests waiting
            log.exception("direct write on a connection failed")
        finally:
            self._write_done()

    def _write_done(self) -> None:
        """The direct write answered: requests held meanwhile go to aiohttp's loop, in order."""
        held, self.held, self._write_task = self.held, None, None
        if self.transport is None:  # the client went away while the write ran (it still happened)
            return
        self._answered()
        if not held:
            return
        for m in held:
            self._request_count += 1
            self._messages.append(m)
        self.handed_over = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _process_keepalive(self) -> None:
        if self.held is not None:  # a direct write runs: the connection is not idle
            self._keepalive_handle = None
            self._answered()
            return
        super()._process_keepalive()

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        """aiohttp's graceful shutdown, first waiting for a direct write in flight."""
        task = self._write_task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)
        await super().shutdown(timeout)


class FastServer(Server):
    """aiohttp's Server making FastRequestHandler connections for an apiserver app."""

    app: web.Application

    def __call__(self) -> FastRequestHandler:
        return FastRequestHandler(self, loop=self._loop, **self._kwargs)

    def app_registry(self):
        return self.app.get(keys.REGISTRY)


class FastAppRunner(web.AppRunner):
    """web.AppRunner whose connections take the direct GET path."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = FastServer  # same state, one more method and another protocol class
        server.app = self.app
        return server
