"""labkube.client.http.read_head: a reply head's (status, length, chunked, close), remembered per
head, against the reading it had before it remembered heads (kept here as `reference_read_head`):
the same answer, or the same error, for every head of a table, first time, again, and after the
remembered heads started over."""
from __future__ import annotations

import pytest

from labkube.client import http
from labkube.client.http import read_head


def reference_read_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """read_head before it remembered heads (2022d44)."""
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


DATE = "Date: Fri, 04 Dec 2026 07:00:00 GMT"
HEADS = [
    f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2853\r\n{DATE}\r\nServer: labkube",
    f"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 312\r\n{DATE}",
    "HTTP/1.1 204 No Content",
    "HTTP/1.1 100 Continue",
    "HTTP/1.0 200 OK\r\nContent-Length: 5",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5",
    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nConnection: close",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5",
    "HTTP/1.1 200 OK\r\nconnection:   CLOSE  \r\ncontent-length:7",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive",
    "HTTP/1.1 200 OK\r\nConnection: upgrade",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 9",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip",
    "HTTP/1.1 200 OK",
    "HTTP/1.1 200",
    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 180",
    "HTTP/1.1 409 Conflict\r\n Content-Length : 44 ",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nX-Odd: a:b:c\r\nno colon here",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2",
    "HTTP/1.1 200 OK\r\nX-Long: " + "x" * 600 + "\r\nContent-Length: 3",
    "HTTP/1.1 200 OK\r\nX-Latin: \xe9t\xe9\r\nContent-Length: 4",
    "HTTP/2 200 OK\r\nContent-Length: 5",
    "HTTP/1.1 abc OK",
    "HTTP/1.1 200 OK\r\nContent-Length: twelve",
    "HTTP/1.1 200 OK\r\nContent-Length: ",
    "ICY 200 OK",
    "",
    "HTTP/1.1",
    "HTTP/1.1 20",
]


def answer(fn, head: bytes):
    try:
        return fn(head)
    except Exception as e:  # noqa: BLE001 - the error is part of the answer compared
        return type(e), str(e)


@pytest.mark.parametrize("text", HEADS)
def test_same_answer_as_reference(text):
    head = text.encode("latin-1")
    want = answer(reference_read_head, head)
    for _ in range(3):                     # read, then remembered (errors are not)
        assert answer(read_head, head) == want


def test_same_answers_after_the_remembered_heads_start_over():
    heads = [f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n{DATE}".encode() for n in range(3 * http.HEADS_KEPT)]
    heads += [t.encode("latin-1") for t in HEADS]
    for _ in range(2):
        for head in heads:
            assert answer(read_head, head) == answer(reference_read_head, head)
            assert len(http._heads) <= http.HEADS_KEPT


def test_long_heads_are_not_remembered():
    head = ("HTTP/1.1 200 OK\r\nX-Long: " + "y" * http.HEAD_KEPT_MAX + "\r\nContent-Length: 3").encode()
    assert read_head(head) == (200, 3, False, False)
    assert head not in http._heads
