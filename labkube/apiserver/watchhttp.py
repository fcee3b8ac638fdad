"""The HTTP side of watch: a chunked stream of one JSON event per line. Each event is written
as soon as it is delivered, together with the events already queued behind it.

Honours timeoutSeconds (ends the stream cleanly), allowWatchBookmarks (BOOKMARK events
carrying the newest delivered resourceVersion when idle), Table Accept (each object a
one-row Table, column definitions on the first), and answers a too-old resourceVersion
with an ERROR event holding a 410 Expired Status. sendInitialEvents=true (a streaming list)
needs resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true, as in Kubernetes.
"""
from __future__ import annotations

import random
import time

from aiohttp import web
from aiohttp.http import HttpVersion11

from ..api import errors, versions
from ..api.errors import ApiError
from ..api.tables import to_table
from ..api.validation.field import forbidden
from .httputil import dumps, include_object, qbool, qint, wants_table
from .paths import Target
from .registry import Registry
from .watchdirect import DirectWriter
from .watching import event_object, open_watch
from . import keys

BOOKMARK_EVERY = 15.0
BATCH_BYTES = 256 * 1024  # queued events written together up to about this much
DEFAULT_TIMEOUT = (1800, 3600)


def _event(kind: str, obj: dict) -> bytes:
    return dumps({"type": kind, "object": obj}) + b"\n"


def stored_line(kind: str, ev, api_version: str, res_kind: str) -> bytes | None:
    """The line `_event` makes of a storage event's object (with its revision, kind and apiVersion)
    built from the stored JSON text itself, without decoding and encoding it again, when that
    text is already exactly those bytes: it carries this revision as resourceVersion (the
    store's versioner stamps every value it writes) and starts or ends with the served
    apiVersion and kind as top-level members (a deletion, another version, a value without
    them: None, and the caller encodes the decoded object). Stored values are compact JSON from
    jsonio, which re-encodes its own output unchanged."""
    text = ev.text
    if f'"resourceVersion":"{ev.rev}"' not in text:
        return None
    pair = f'"apiVersion":"{api_version}","kind":"{res_kind}"'
    if not (text.startswith("{" + pair + ",") or text.endswith("," + pair + "}")):
        return None
    return f'{{"type":"{kind}","object":{text}}}\n'.encode()


def send_initial_events(request: web.Request) -> bool | None:
    """sendInitialEvents of a watch (None when not given), checked with resourceVersionMatch and
    allowWatchBookmarks like Kubernetes' ListOptions validation (422 naming the field)."""
    given = request.query.get("sendInitialEvents", "") != ""
    send = given and qbool(request, "sendInitialEvents")
    match = request.query.get("resourceVersionMatch", "")
    errs = []
    if given:
        if match != "NotOlderThan":
            errs.append(forbidden("resourceVersionMatch",
                                  "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if send and not qbool(request, "allowWatchBookmarks"):
            errs.append(forbidden("allowWatchBookmarks", "allowWatchBookmarks must be set to true "
                                  "when sendInitialEvents is set to true"))
    elif match:
        errs.append(forbidden("resourceVersionMatch",
                              "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
    if errs:
        raise errors.invalid("ListOptions", "", errs, group="meta.k8s.io")
    return send if given else None


async def serve(request: web.Request, reg: Registry, t: Target) -> web.StreamResponse:
    q = request.query
    table = wants_table(request)
    include = include_object(request)
    bookmarks = qbool(request, "allowWatchBookmarks")
    send_initial = send_initial_events(request)
    timeout = qint(request, "timeoutSeconds")
    if timeout is None or timeout <= 0:
        timeout = random.randint(*DEFAULT_TIMEOUT)
    resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    resp.enable_chunked_encoding()
    try:
        stream = await open_watch(reg.storage, t.res, t.namespace, q.get("resourceVersion"),
                                  q.get("labelSelector"), q.get("fieldSelector"), send_initial)
    except ApiError as e:
        if e.code != 410:
            raise
        await resp.prepare(request)
        await resp.write(_event("ERROR", e.status()))
        await resp.write_eof()
        return resp
    await resp.prepare(request)
    stream.undecoded = True  # encode() decodes a select-everything watcher's event only when it must
    every = request.app.get(keys.BOOKMARK_INTERVAL, BOOKMARK_EVERY)
    first = True
    res = t.res
    converted = getattr(res, "converted", False)  # properties: read once per watch, not per event
    api_version, res_kind = res.api_version, res.kind

    def line_of(kind: str, obj: dict | None, ev) -> bytes:
        """A storage event's line in the stored version without a table (every event the direct
        writer takes): one for all watchers of this resource and version (ev.cache)."""
        cache_key = (kind, api_version)
        line = ev.cache.get(cache_key)
        if line is None:
            if obj is None:  # a select-everything watcher's event, not decoded yet
                line = stored_line(kind, ev, api_version, res_kind)
                if line is None:
                    obj = event_object(ev)
            if line is None:
                line = _event(kind, dict(obj, kind=res_kind, apiVersion=api_version))
            ev.cache[cache_key] = line
        return line

    def encode(kind: str, obj: dict, ev) -> bytes:
        nonlocal first
        if obj is None and (converted or table):  # not so from deliver_to or next(); decoded all the same
            obj = event_object(ev)
        if converted and kind != "BOOKMARK":   # stored in another version (a new dict: ev.obj is shared)
            obj = versions.to_served(res, obj)
        if kind == "BOOKMARK":           # the end of a streaming list's initial events
            line = _event(kind, dict(obj, kind=res_kind, apiVersion=api_version))
        elif table:
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            line = _event(kind, to_table(res, [obj], rv, include, with_columns=first))
        elif ev is not None:
            line = line_of(kind, obj, ev)
        else:  # an initial event
            line = _event(kind, dict(obj, kind=res_kind, apiVersion=api_version))
        first = False
        return line

    direct = None  # later events written from the publish (watchdirect.py) where the stream is plain
    writer = resp._payload_writer
    if (not table and not converted and resp.chunked and request.version >= HttpVersion11
            and request.transport is not None and writer is not None and getattr(writer, "_headers_buf", None) is None):
        direct = DirectWriter(request.transport, line_of)  # plain storage events only: encode's last cases
        if not stream.deliver_to(direct):
            direct = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            item = await stream.next(min(left, every))
            if item is None:
                break
            if item == "timeout":
                if bookmarks and time.monotonic() < deadline:
                    if direct is not None:
                        direct.flush()
                    bm = {"kind": t.res.kind, "apiVersion": t.res.api_version,
                          "metadata": {"resourceVersion": stream.bookmark_rv}}
                    await resp.write(_event("BOOKMARK", bm))
                continue
            # this event and those already queued behind it (a batch commit publishes many at
            # once) go out in one write: one chunk, one TLS record run and one send instead of one
            # per event; the first is never held back
            lines = [encode(*item)]
            size = len(lines[0])
            while size < BATCH_BYTES:
                more = stream.next_nowait()
                if more is None:
                    break
                lines.append(encode(*more))
                size += len(lines[-1])
            if direct is not None:
                direct.flush()
            await resp.write(lines[0] if len(lines) == 1 else b"".join(lines))
    except ConnectionResetError:  # the client went away: nothing more to say
        return resp
    finally:
        stream.close()
    try:
        if direct is not None:
            direct.flush()
        await resp.write_eof()
    except ConnectionResetError:
        pass
    return resp
