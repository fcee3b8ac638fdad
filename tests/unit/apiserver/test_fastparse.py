"""The hand-written reader of plain GETs (labkube.apiserver.fastparse): what it reads, and every
form it leaves to aiohttp's parser. That the replies then equal aiohttp's is test_fastget's."""
import pytest
from multidict import CIMultiDict

from labkube.apiserver import fastparse
from labkube.apiserver.fastparse import plain_get, plain_write

PATH = "/api/v1/namespaces/default/pods/web"


def req(*headers, line=f"GET {PATH} HTTP/1.1"):
    return (line + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode("latin-1")


READ = [
    ("no headers", req(), (PATH, "")),
    ("Host", req("Host: x"), (PATH, "")),
    ("Accept, spaces around the value", req("Host: x", "Accept:  application/json \t"), (PATH, "application/json")),
    ("names in any case", req("host: x", "ACCEPT: application/json"), (PATH, "application/json")),
    ("keep-alive", req("Connection: Keep-Alive"), (PATH, "")),
    ("query string (fastget declines it)", req(line=f"GET {PATH}?watch=1 HTTP/1.1"), (PATH + "?watch=1", "")),
    ("kubectl's headers", req("Host: 127.0.0.1:6443", "User-Agent: kubectl/v1.31.0 (linux/amd64) kubernetes/abc",
                              "Accept: application/json, */*", "Kubectl-Command: kubectl get",
                              "Kubectl-Session: 0b7c", "Accept-Encoding: gzip"),
     (PATH, "application/json, */*")),
]

DECLINED = [
    ("another method", req(line=f"POST {PATH} HTTP/1.1")),
    ("HTTP/1.0", req(line=f"GET {PATH} HTTP/1.0")),
    ("absolute-form target", req(line=f"GET https://x{PATH} HTTP/1.1")),
    ("two spaces", req(line=f"GET  {PATH} HTTP/1.1")),
    ("tab in the request line", req(line=f"GET\t{PATH} HTTP/1.1")),
    ("Content-Length", req("Content-Length: 0")),
    ("Transfer-Encoding", req("Transfer-Encoding: chunked")),
    ("Connection: close", req("Connection: close")),
    ("Connection: upgrade", req("Connection: Upgrade", "Upgrade: websocket")),
    ("Upgrade", req("Upgrade: h2c")),
    ("Expect", req("Expect: 100-continue")),
    ("impersonation", req("Impersonate-User: jane")),
    ("impersonation, lower case", req("impersonate-group: devs")),
    ("a name twice", req("Accept: application/json", "accept: application/yaml")),
    ("folded line", req("Accept: application/json", " ;as=Table")),
    ("space before the colon", req("Accept : application/json")),
    ("no colon", req("Accept")),
    ("empty name", req(": x")),
    ("non-ASCII value", req("X-Note: caf\xe9")),
    ("control byte", req("X-Note: a\x01b")),
    ("bare LF", req("X-Note: a\nb")),
    ("bare CR", req("X-Note: a\rb")),
    ("incomplete head", req()[:-2]),
    ("two requests", req() + req()),
    ("a body behind the head", req() + b"x"),
    ("longer than aiohttp's line limit", req("X-Long: " + "a" * 8200)),
]


@pytest.mark.parametrize("raw,want", [c[1:] for c in READ], ids=[c[0] for c in READ])
def test_reads_plain_gets(raw, want):
    assert plain_get(raw) == want


@pytest.mark.parametrize("raw", [c[1] for c in DECLINED], ids=[c[0] for c in DECLINED])
def test_leaves_other_forms_to_aiohttp(raw):
    assert plain_get(raw) is None


BINDING = "/api/v1/namespaces/default/pods/web/binding"
BODY = b'{"target":{"name":"n1"}}'


def wreq(*headers, line=f"POST {BINDING} HTTP/1.1", body=BODY, length=None):
    length = len(body) if length is None else length
    head = [line, *headers] + ([f"Content-Length: {length}"] if length != "" else [])
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


WRITES = [
    ("POST", wreq("Host: x", "Content-Type: application/json"),
     ("POST", BINDING, [("Host", "x"), ("Content-Type", "application/json"), ("Content-Length", "24")], BODY)),
    ("PATCH", wreq("Content-Type: application/merge-patch+json", line="PATCH /p HTTP/1.1"),
     ("PATCH", "/p", [("Content-Type", "application/merge-patch+json"), ("Content-Length", "24")], BODY)),
    ("PUT, spaces around values, keep-alive", wreq("User-Agent:  kubelet/v1.31.0 \t", "Connection: keep-alive",
                                                   line="PUT /l HTTP/1.1"),
     ("PUT", "/l", [("User-Agent", "kubelet/v1.31.0"), ("Connection", "keep-alive"), ("Content-Length", "24")],
      BODY)),
    ("empty body", wreq(body=b""), ("POST", BINDING, [("Content-Length", "0")], b"")),
    ("a body holding a blank line", wreq(body=b'{"a":\r\n\r\n1}'),
     ("POST", BINDING, [("Content-Length", "11")], b'{"a":\r\n\r\n1}')),
    ("a non-ASCII body", wreq(body="{\"é\":1}".encode()),
     ("POST", BINDING, [("Content-Length", "8")], "{\"é\":1}".encode())),
]

WRITES_DECLINED = [
    ("GET", wreq(line=f"GET {BINDING} HTTP/1.1")),
    ("DELETE", wreq(line=f"DELETE {BINDING} HTTP/1.1")),
    ("lower-case method", wreq(line=f"post {BINDING} HTTP/1.1")),
    ("HTTP/1.0", wreq(line=f"POST {BINDING} HTTP/1.0")),
    ("no Content-Length", wreq(length="")),
    ("Content-Length not digits", wreq(length="+24")),
    ("body shorter than Content-Length", wreq(length=25)),
    ("body longer than Content-Length", wreq(length=23)),
    ("Content-Length twice", wreq("content-length: 24")),
    ("Transfer-Encoding", wreq("Transfer-Encoding: chunked")),
    ("Content-Encoding", wreq("Content-Encoding: gzip")),
    ("Expect", wreq("Expect: 100-continue")),
    ("Upgrade", wreq("Upgrade: h2c")),
    ("Connection: close", wreq("Connection: close")),
    ("impersonation", wreq("Impersonate-User: jane")),
    ("folded line", wreq("Accept: application/json", " ;as=Table")),
    ("control byte in the head", wreq("X-Note: a\x01b")),
    ("non-ASCII in the head", wreq("X-Note: caf\xe9")),
    ("incomplete head", wreq()[:wreq().find(b"\r\n\r\n") + 2]),
    ("two requests", wreq() + wreq()),
    ("longer than aiohttp's line limit", wreq("X-Long: " + "a" * 8200)),
]


@pytest.mark.parametrize("raw,want", [c[1:] for c in WRITES], ids=[c[0] for c in WRITES])
def test_reads_plain_writes(raw, want):
    method, target, headers, body = plain_write(raw)
    assert (method, target, list(headers.items()), body) == want
    assert headers.get("content-length") == headers.get("CONTENT-LENGTH") == want[2][-1][1]


@pytest.mark.parametrize("raw", [c[1] for c in WRITES_DECLINED], ids=[c[0] for c in WRITES_DECLINED])
def test_leaves_other_writes_to_aiohttp(raw):
    assert plain_write(raw) is None


# plain_write as it was before its header lines were kept (_BLOCKS): the reference the kept
# lines must give the same answers as
_EARLIER_REFUSED = frozenset(("transfer-encoding", "upgrade", "expect", "content-encoding"))


def earlier_plain_write(data: bytes):
    end = data.find(b"\r\n\r\n")
    if end < 0 or end > fastparse._MAX or not data.startswith(fastparse._WRITES):
        return None
    m = fastparse._WRITE_HEAD.fullmatch(data[:end].decode("latin-1"))
    if m is None:
        return None
    pairs = []
    given = {}
    for line in m.group(3).split("\r\n")[1:]:
        name, _, value = line.partition(":")
        value = value.strip(" \t")
        pairs.append((name, value))
        given[name.lower()] = value
    if len(given) != len(pairs) or not _EARLIER_REFUSED.isdisjoint(given) or \
            any(n.startswith("impersonate-") for n in given):
        return None
    conn = given.get("connection")
    length = given.get("content-length")
    if conn is not None and conn.lower() != "keep-alive" or length is None or not length.isdigit() \
            or len(data) - end - 4 != int(length):
        return None
    return m.group(1), m.group(2), CIMultiDict(pairs), data[end + 4:]


def _plain(got):
    return None if got is None else (got[0], got[1], list(got[2].items()), got[3])


KEPT_HEADERS = ("Host: 127.0.0.1:6443", "User-Agent: labkube-hollow", "Accept: application/json",
                "Content-Type: application/strategic-merge-patch+json")
# requests sharing header lines with an accepted one (kept), but for their request line or body
VARIANTS = [
    ("the same", wreq(*KEPT_HEADERS)),
    ("another path", wreq(*KEPT_HEADERS, line="PATCH /api/v1/namespaces/b/pods/x-2/status HTTP/1.1")),
    ("PUT", wreq(*KEPT_HEADERS, line="PUT /apis/coordination.k8s.io/v1/namespaces/n/leases/l HTTP/1.1")),
    ("GET", wreq(*KEPT_HEADERS, line=f"GET {BINDING} HTTP/1.1")),
    ("DELETE", wreq(*KEPT_HEADERS, line=f"DELETE {BINDING} HTTP/1.1")),
    ("lower-case method", wreq(*KEPT_HEADERS, line=f"post {BINDING} HTTP/1.1")),
    ("HTTP/1.0", wreq(*KEPT_HEADERS, line=f"POST {BINDING} HTTP/1.0")),
    ("two spaces", wreq(*KEPT_HEADERS, line=f"POST  {BINDING} HTTP/1.1")),
    ("space in the target", wreq(*KEPT_HEADERS, line="POST /a b HTTP/1.1")),
    ("target not from /", wreq(*KEPT_HEADERS, line="POST http://x/a HTTP/1.1")),
    ("tab in the line", wreq(*KEPT_HEADERS, line=f"POST\t{BINDING} HTTP/1.1")),
    ("control byte in the line", wreq(*KEPT_HEADERS, line=f"POST {BINDING}\x01 HTTP/1.1")),
    ("non-ASCII in the line", wreq(*KEPT_HEADERS, line=f"POST {BINDING}\xe9 HTTP/1.1")),
    ("body shorter than Content-Length", wreq(*KEPT_HEADERS, length=25)),
    ("body longer than Content-Length", wreq(*KEPT_HEADERS, length=23)),
    ("a body of the kept length, other bytes", wreq(*KEPT_HEADERS, body=b'{"target":{"name":"n2"}}')),
    ("another Content-Length", wreq(*KEPT_HEADERS, body=b'{"target":{"name":"n22"}}')),
    ("pipelined behind", wreq(*KEPT_HEADERS) + wreq(*KEPT_HEADERS)),
    ("partial head", wreq(*KEPT_HEADERS)[:40]),
    ("one more header line", wreq(*KEPT_HEADERS, "Impersonate-User: jane")),
    ("a header line fewer", wreq(*KEPT_HEADERS[:3])),
    ("a value's case", wreq(*KEPT_HEADERS[:3], "Content-Type: Application/JSON")),
    ("a name's case", wreq(*KEPT_HEADERS[:3], "content-type: application/strategic-merge-patch+json")),
    ("Connection: close", wreq(*KEPT_HEADERS, "Connection: close")),
    ("Connection: Keep-Alive", wreq(*KEPT_HEADERS, "Connection: Keep-Alive")),
    ("long header lines (not kept)", wreq(*KEPT_HEADERS, "X-Note: " + "a" * 3000)),
]
ALL_FORMS = [c[1] for c in WRITES] + [c[1] for c in WRITES_DECLINED] + [c[1] for c in VARIANTS]


@pytest.mark.parametrize("raw", ALL_FORMS)
def test_plain_write_as_before_cold_and_kept(raw, monkeypatch):
    monkeypatch.setattr(fastparse, "_BLOCKS", {})
    want = _plain(earlier_plain_write(raw))
    assert _plain(plain_write(raw)) == want  # header lines not kept yet
    assert _plain(plain_write(raw)) == want  # kept by the call before, if accepted


def test_plain_write_as_before_after_every_other_form(monkeypatch):
    """Each form read after every form (so with the header lines of each accepted one kept),
    in both orders, gives what the earlier reader gives."""
    monkeypatch.setattr(fastparse, "_BLOCKS", {})
    for first in ALL_FORMS:
        for raw in (first, *ALL_FORMS):
            assert _plain(plain_write(raw)) == _plain(earlier_plain_write(raw))
    for raw in reversed(ALL_FORMS * 2):
        assert _plain(plain_write(raw)) == _plain(earlier_plain_write(raw))


def test_kept_lines_give_fresh_headers(monkeypatch):
    monkeypatch.setattr(fastparse, "_BLOCKS", {})
    raw = wreq(*KEPT_HEADERS)
    first = plain_write(raw)
    first[2]["X-Added"] = "1"
    del first[2]["Host"]
    again = plain_write(raw)
    assert list(again[2].items()) == list(earlier_plain_write(raw)[2].items())
    assert again[2] is not first[2]


def test_kept_lines_are_bounded(monkeypatch):
    monkeypatch.setattr(fastparse, "_BLOCKS", {})
    monkeypatch.setattr(fastparse, "_BLOCKS_MAX", 8)
    reqs = [wreq(f"User-Agent: client-{i}", *KEPT_HEADERS[2:]) for i in range(30)]
    for raw in reqs + reqs:
        assert _plain(plain_write(raw)) == _plain(earlier_plain_write(raw))
        assert len(fastparse._BLOCKS) <= 8
    monkeypatch.setattr(fastparse, "_BLOCKS", {})
    long = wreq(*KEPT_HEADERS, "X-Note: " + "a" * 3000)
    assert _plain(plain_write(long)) == _plain(earlier_plain_write(long)) is not None
    assert fastparse._BLOCKS == {}  # longer than _BLOCK_CHARS: read in full every time
    declined = [c[1] for c in WRITES_DECLINED]
    for raw in declined:
        plain_write(raw)
    assert all(plain_write(raw) is None for raw in declined)
