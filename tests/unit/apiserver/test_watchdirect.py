"""watchdirect.DirectWriter: events taken during one pass of the loop leave as one HTTP chunk, in
order, framed as aiohttp frames a chunked response; a connection that is closing or holds too many
unsent bytes refuses events (they queue for the watch's task and its back-pressure)."""
import asyncio

import pytest

from labkube.apiserver import watchdirect
from labkube.apiserver.watchdirect import DirectWriter


class FakeTransport:
    def __init__(self, unsent: int = 0, closing: bool = False):
        self.sent = b""
        self.writes = 0
        self.unsent = unsent
        self.closing = closing

    def write(self, data):
        self.sent += data
        self.writes += 1

    def is_closing(self):
        return self.closing

    def get_write_buffer_size(self):
        return self.unsent


def _encode(kind, obj, ev):
    return b'{"type":"%s","n":%d}\n' % (kind.encode(), obj["n"])


def _dechunk(raw: bytes) -> list[bytes]:
    chunks = []
    while raw:
        size, _, rest = raw.partition(b"\r\n")
        n = int(size, 16)
        assert rest[n:n + 2] == b"\r\n"
        chunks.append(rest[:n])
        raw = rest[n + 2:]
    return chunks


async def test_events_of_one_loop_pass_leave_as_one_chunk_in_order():
    t = FakeTransport()
    w = DirectWriter(t, _encode)
    assert w("ADDED", {"n": 1}, None) and w("MODIFIED", {"n": 2}, None)
    assert t.sent == b""  # not before the loop's pass ends
    await asyncio.sleep(0)
    assert _dechunk(t.sent) == [b'{"type":"ADDED","n":1}\n{"type":"MODIFIED","n":2}\n']
    assert t.writes == 1  # one TLS record run: an SSL transport's writelines makes a record of each piece
    assert w("DELETED", {"n": 3}, None)
    await asyncio.sleep(0)
    assert _dechunk(t.sent)[1:] == [b'{"type":"DELETED","n":3}\n']


async def test_flush_writes_at_once_what_was_taken():
    t = FakeTransport()
    w = DirectWriter(t, _encode)
    w("ADDED", {"n": 1}, None)
    w.flush()  # the task does this before writing a bookmark or the stream's end
    assert _dechunk(t.sent) == [b'{"type":"ADDED","n":1}\n']
    await asyncio.sleep(0)
    assert len(_dechunk(t.sent)) == 1  # the scheduled flush finds nothing left


async def test_a_large_pass_is_split_into_chunks_of_bounded_size(monkeypatch):
    monkeypatch.setattr(watchdirect, "CHUNK_BYTES", 50)
    t = FakeTransport()
    w = DirectWriter(t, _encode)
    for n in range(5):
        w("ADDED", {"n": n}, None)
    w.flush()
    chunks = _dechunk(t.sent)
    assert len(chunks) == 3 and all(len(c) <= 50 for c in chunks)
    assert b"".join(chunks) == b"".join(_encode("ADDED", {"n": n}, None) for n in range(5))


@pytest.mark.parametrize("transport", [FakeTransport(closing=True),
                                       FakeTransport(unsent=watchdirect.WRITE_LIMIT + 1)],
                         ids=["closing", "client not reading"])
async def test_a_connection_that_cannot_take_more_refuses_events(transport):
    w = DirectWriter(transport, _encode)
    assert not w("ADDED", {"n": 1}, None)
    await asyncio.sleep(0)
    assert transport.sent == b""


async def test_a_refused_event_first_sends_what_was_taken_before_it():
    t = FakeTransport()
    w = DirectWriter(t, _encode)
    w("ADDED", {"n": 1}, None)
    t.unsent = watchdirect.WRITE_LIMIT + 1
    assert not w("MODIFIED", {"n": 2}, None)
    assert _dechunk(t.sent) == [b'{"type":"ADDED","n":1}\n']  # before the task writes event 2


# stored_line: the event line from the stored text, only where it is exactly the decoded object's
POD_FIRST = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "resourceVersion": "7"}, "spec": {}}
POD_LAST = {"metadata": {"name": "b", "resourceVersion": "7", "labels": {"ü": "\"x\"\n"}}, "spec": {"n": 1.5},
            "apiVersion": "v1", "kind": "Pod"}
NESTED_ONLY = {"metadata": {"name": "c", "resourceVersion": "7"},
               "spec": {"ref": {"apiVersion": "v1", "kind": "Pod"}}}
KIND_FIRST = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "d", "resourceVersion": "7"}}
OTHER_REV = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "e", "resourceVersion": "6"}}
OTHER_VERSION = {"apiVersion": "v2", "kind": "Pod", "metadata": {"name": "f", "resourceVersion": "7"}}


@pytest.mark.parametrize("obj,from_text", [
    (POD_FIRST, True), (POD_LAST, True), (NESTED_ONLY, False), (KIND_FIRST, False), (OTHER_REV, False),
    (OTHER_VERSION, False)], ids=["apiVersion and kind first", "apiVersion and kind last, non-ASCII, escapes",
                                  "kind only nested", "kind before apiVersion", "another revision (a deletion)",
                                  "another version"])
def test_stored_line_is_the_decoded_objects_line_or_none(obj, from_text):
    from labkube import jsonio
    from labkube.apiserver.watchhttp import _event, stored_line
    from labkube.apiserver.watching import event_object
    from labkube.storage.interface import Event
    ev = Event("MODIFIED", "/registry/pods/default/x", 7, jsonio.dumps_str(obj))
    line = stored_line("MODIFIED", ev, "v1", "Pod")
    assert (line is not None) == from_text
    if from_text:
        assert line == _event("MODIFIED", dict(event_object(ev), kind="Pod", apiVersion="v1"))
