"""The hand-written reader of plain GETs (labkube.apiserver.fastparse): what it reads, and every
form it leaves to aiohttp's parser. That the replies then equal aiohttp's is test_fastget's."""
import pytest

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
