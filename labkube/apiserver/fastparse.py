"""A hand-written reader of the one request form the direct GET path answers, for a
connection's first bytes before aiohttp's parser has seen any.

aiohttp's HTTP parser builds a request message for every GET (a header multidict, a URL
object, the raw header tuples), which cost about a tenth of a direct GET's CPU time, to be
thrown away at once by fastget.py. This reads a plain GET straight from the received bytes.
It accepts only what aiohttp's parser reads the same way and fastget.py would answer; for
anything else it says None and the bytes go to aiohttp's parser unchanged:
  - the bytes are exactly one complete request: its head ends with the only blank line, at the
    very end (nothing pipelined behind it, nothing partial), within aiohttp's line limit;
  - request line `GET <target> HTTP/1.1` with an origin-form target (starting with `/`), single
    spaces;
  - every byte printable ASCII (or tab in a header value), lines ended by CRLF only, no folded
    header lines, header names made of token characters, no name given twice;
  - no header that would make aiohttp read a body, close, upgrade, answer 100 Continue or act
    as someone else: Content-Length, Transfer-Encoding, Upgrade, Expect, Impersonate-*, and
    Connection other than keep-alive.
"""
from __future__ import annotations

_MAX = 8190  # aiohttp's max_line_size and max_field_size: a longer head is aiohttp's to judge
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_REFUSED = frozenset((b"content-length", b"transfer-encoding", b"upgrade", b"expect"))


def plain_get(data: bytes) -> tuple[str, str] | None:
    """(target, Accept value or "") of a request `data` that is one plain GET, as above."""
    end = len(data) - 4
    if end > _MAX or not data.startswith(b"GET /") or data.find(b"\r\n\r\n") != end:
        return None
    head = data[:end]
    if head.translate(None, _PRINTABLE):  # a control or non-ASCII byte
        return None
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or b"\t" in lines[0]:
        return None
    seen = set()
    accept = ""
    for line in lines[1:]:
        i = line.find(b":")
        if i <= 0 or b"\r" in line or b"\n" in line:
            return None
        name = line[:i]
        if name.translate(None, _TOKEN):  # also refuses folded lines (leading space or tab)
            return None
        name = name.lower()
        if name in seen or name in _REFUSED or name.startswith(b"impersonate-"):
            return None
        seen.add(name)
        value = line[i + 1:].strip(b" \t")
        if name == b"connection":
            if value.lower() != b"keep-alive":
                return None
        elif name == b"accept":
            accept = value.decode("ascii")
    return parts[1].decode("ascii"), accept
