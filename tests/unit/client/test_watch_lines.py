"""Client.watch's cutting of a watch stream into lines, against the cutting it had before it
joined a held-over line to a chunk's first piece only (kept here as `reference_lines`): the same
lines, in order, handed to decode_line (and the same events decoded) for streams cut into chunks
at every place and at random places: lines across chunks, chunks without a newline, chunks of a
newline alone, empty lines and chunks, a stream ending without a newline."""
from __future__ import annotations

import json
import random

import pytest

from labkube.client.kubeconfig import KubeConfig
from labkube.client.rest import Client


def reference_lines(chunks: list[bytes]) -> list[bytes]:
    """The lines Client.watch handed to decode_line before (2022d44), the final partial one last."""
    out = []
    buf = b""
    for chunk in chunks:
        if b"\n" not in chunk:
            buf += chunk
            continue
        lines = (buf + chunk).split(b"\n")
        buf = lines.pop()
        out.extend(lines)
    out.append(buf)
    return out


class FakeContent:
    def __init__(self, chunks):
        self.chunks = chunks

    async def iter_any(self):
        for c in self.chunks:
            yield c


class FakeResponse:
    status = 200

    def __init__(self, chunks):
        self.content = FakeContent(chunks)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False


class FakeSession:
    """What Client.watch uses of aiohttp's session: get() answering the chunks given."""
    closed = False

    def __init__(self, chunks):
        self.chunks = chunks

    def get(self, url, **kw):
        return FakeResponse(self.chunks)


def client(chunks) -> Client:
    c = Client(KubeConfig(server="http://127.0.0.1:1"))
    c._session = FakeSession(chunks)
    return c


async def watched_lines(chunks) -> list[bytes]:
    seen = []

    def decode_line(line):
        seen.append(line)
        return False

    async for _ in client(chunks).watch("pods", namespace="default", decode_line=decode_line):
        pass
    return seen


def event(i: int) -> bytes:
    obj = {"metadata": {"name": f"p{i}", "namespace": "default", "resourceVersion": str(i)}, "n": "x" * (i % 7)}
    return json.dumps({"type": "MODIFIED", "object": obj}, separators=(",", ":")).encode()


STREAMS = {
    "events": b"".join(event(i) + b"\n" for i in range(6)),
    "no final newline": b"\n".join(event(i) for i in range(4)),
    "empty lines": b"\n\n" + event(1) + b"\n\n\n" + event(2) + b"\n\n",
    "newlines only": b"\n\n\n",
    "one line": event(3),
    "empty": b"",
}


def cuts(data: bytes, rng: random.Random) -> list[list[bytes]]:
    """The stream as one chunk, cut once at every place, byte by byte, with empty chunks, and
    cut at random places."""
    out = [[data], [data[i:i + 1] for i in range(len(data))], [b"", data, b""]]
    out += [[data[:i], data[i:]] for i in range(len(data) + 1)]
    for _ in range(30):
        places = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(1, 6))))
        out.append([data[a:b] for a, b in zip([0] + places, places + [len(data)])])
    return out


@pytest.mark.parametrize("name", list(STREAMS))
async def test_same_lines_as_reference(name):
    rng = random.Random(name)
    for chunks in cuts(STREAMS[name], rng):
        assert await watched_lines(chunks) == reference_lines(chunks), chunks


@pytest.mark.parametrize("name", ["events", "no final newline", "empty lines"])
async def test_same_events_as_the_reference_lines_decode_to(name):
    rng = random.Random(name)
    for chunks in cuts(STREAMS[name], rng):
        want = [json.loads(line) for line in reference_lines(chunks) if line.strip()]
        for ev in want:
            ev["object"].setdefault("kind", "Pod")
            ev["object"].setdefault("apiVersion", "v1")
        got = [ev async for ev in client(chunks).watch("pods", namespace="default")]
        assert got == want
