"""A hand-written reader of the request forms the direct paths answer (plain GETs; the direct
creates' and writes' POST, PUT and PATCH), for a connection's bytes while aiohttp's parser
holds no part of a request.

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

plain_write reads the direct writes' requests (fastcreate.py, fastwrite.py: POST, PUT or PATCH
with a JSON body) the same way, so that aiohttp's parser does not build a message, a header
multidict, a URL and a body stream for each: the same rules for the head, and the body exactly
the Content-Length bytes after it (not partial, nothing behind it); no Content-Encoding (aiohttp
would decompress the body), no Transfer-Encoding. A client sends the same header lines again and
again (its Host, User-Agent, Accept and Content-Type, and one of a few Content-Lengths), so the
header lines of an accepted write are kept (_BLOCKS): the same lines again are known to pass the
checks and give the same headers, and only the request line and the body's length are read.
"""
from __future__ import annotations

import re

from multidict import CIMultiDict

_MAX = 8190  # aiohttp's max_line_size and max_field_size: a longer head is aiohttp's to judge
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_REFUSED = frozenset((b"content-length", b"transfer-encoding", b"upgrade", b"expect"))
_WRITE_REFUSED = frozenset(("transfer-encoding", "upgrade", "expect", "content-encoding"))
_WRITE_HEAD = re.compile(r"(POST|PUT|PATCH) (/[!-~]*) HTTP/1\.1((?:\r\n[-!#$%&'*+.^_`|~0-9A-Za-z]+:[\t -~]*)*)")
_WRITES = (b"POST /", b"PUT /", b"PATCH /")
# the request line alone (_WRITE_HEAD's first part: it cannot hold a line break, so it ends at the
# head's first CRLF, where the header lines begin)
_WRITE_LINE = re.compile(r"(POST|PUT|PATCH) (/[!-~]*) HTTP/1\.1")
# the header lines (from the first CRLF of the head on) of accepted writes -> (their (name, value)
# pairs, the Content-Length they give); bounded: emptied when full, and lines longer than
# _BLOCK_CHARS (a component's are 100-300 characters) are not kept
_BLOCKS: dict[str, tuple[tuple[tuple[str, str], ...], int]] = {}
_BLOCKS_MAX = 1024
_BLOCK_CHARS = 2048


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


def plain_write(data: bytes) -> tuple[str, str, CIMultiDict, bytes] | None:
    """(method, target, headers, body) of a request `data` that is one plain POST, PUT or PATCH
    whose Content-Length body is all there, as above; headers as aiohttp's message holds them
    (names as sent, looked up in any case, values without surrounding blanks). One regular
    expression checks the head's form (cheaper than plain_get's checks per line)."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or end > _MAX or not data.startswith(_WRITES):
        return None
    head = data[:end].decode("latin-1")
    lines = head.find("\r\n")
    known = _BLOCKS.get(head[lines:]) if lines > 0 else None
    if known is not None:  # header lines accepted before: the same checks pass, the same pairs
        m = _WRITE_LINE.fullmatch(head, 0, lines)
        if m is None or len(data) - end - 4 != known[1]:
            return None
        return m.group(1), m.group(2), CIMultiDict(known[0]), data[end + 4:]
    m = _WRITE_HEAD.fullmatch(head)  # printable ASCII, token names, no folding
    if m is None:
        return None
    pairs = []
    given = {}
    for line in m.group(3).split("\r\n")[1:]:
        name, _, value = line.partition(":")
        value = value.strip(" \t")
        pairs.append((name, value))
        given[name.lower()] = value
    if len(given) != len(pairs) or not _WRITE_REFUSED.isdisjoint(given) or \
            any(n.startswith("impersonate-") for n in given):
        return None  # a name twice, or one that makes aiohttp act otherwise
    conn = given.get("connection")
    length = given.get("content-length")
    if conn is not None and conn.lower() != "keep-alive" or length is None or not length.isdigit():
        return None
    if len(head) - lines <= _BLOCK_CHARS:
        if len(_BLOCKS) >= _BLOCKS_MAX:
            _BLOCKS.clear()
        _BLOCKS[head[lines:]] = (tuple(pairs), int(length))  # what the header lines decide, body aside
    if len(data) - end - 4 != int(length):
        return None
    return m.group(1), m.group(2), CIMultiDict(pairs), data[end + 4:]


# a header line giving the body's length (any case, blanks around the value), for request_ends
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)[ \t]*(?=\r\n|$)", re.IGNORECASE)


def request_ends(data: bytes) -> list[int]:
    """Where the complete requests at the front of `data` (pipelined: several in one read) end,
    read from their heads' blank line and first Content-Length line alone (none: no body); a tail
    that is no complete request is left out. This only frames: whether a piece is a request the
    direct paths take, plain_get and plain_write decide on that piece's bytes, and each refuses a
    piece framed otherwise by aiohttp's parser (a GET with a Content-Length, a write whose body is
    not exactly its one Content-Length), so the pieces they accept are the requests aiohttp reads."""
    ends: list[int] = []
    pos, n = 0, len(data)
    while pos < n:
        end = data.find(b"\r\n\r\n", pos, pos + _MAX + 4)
        if end < 0:
            break
        m = _LENGTH.search(data, pos, end)
        stop = end + 4 + (int(m.group(1)) if m is not None else 0)
        if stop > n:
            break
        ends.append(stop)
        pos = stop
    return ends
