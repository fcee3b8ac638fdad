"""The hand-written reader of plain GETs (labkube.apiserver.fastparse): what it reads, and every
form it leaves to aiohttp's parser. That the replies then equal aiohttp's is test_fastget's."""
import pytest

from labkube.apiserver.fastparse import plain_get

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
