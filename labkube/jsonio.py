"""Fast JSON for the hot paths (request bodies, stored values, replies, watch events).

orjson when installed (several times faster than the standard library in both
directions), with the standard library as the fallback for what orjson refuses: integers
beyond 64 bits, non-string keys, NaN/Infinity literals. Both produce compact JSON
(`,` and `:` without spaces); orjson writes non-ASCII characters as UTF-8 instead of
`\\uXXXX` escapes, which is the same JSON. Parse errors are always the standard library's
(its messages name line and column, and 400 replies quote them). Text with a run of 19 or
more digits is parsed by the standard library too: orjson would turn an integer beyond
64 bits into a float.
"""
from __future__ import annotations

import json

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    orjson = None

# a run of 19 digits, found as 19 zeros after every digit is mapped to "0": bytes.translate and
# `in` are C loops, about 25 times faster than re.search([0-9]{19}) on a pod's JSON (the search
# ran on every parse and cost four times the parse itself). Text is checked as its UTF-8 bytes:
# str.translate goes through a Python-level mapping per character and cost as much as orjson's
# whole parse (10 us on a running pod's 1.5 KB), encode + bytes.translate ~4 us. UTF-8 keeps digit
# runs as they are: an ASCII digit is one byte and no byte of a multi-byte character is an ASCII digit.
_DIGITS_B = bytes.maketrans(b"0123456789", b"0" * 10)
_RUN_B = b"0" * 19


def _long_digits(data: str | bytes) -> bool:
    """Whether `data` holds a run of 19 or more digits."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")  # a lone surrogate is no digit either
    return _RUN_B in data.translate(_DIGITS_B)


def dumps(obj) -> bytes:
    """Compact JSON as UTF-8 bytes."""
    if orjson is not None:
        try:
            return orjson.dumps(obj)
        except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
            pass
    return json.dumps(obj, separators=(",", ":")).encode()


def dumps_str(obj) -> str:
    """Compact JSON as text (what storage keeps)."""
    return dumps_str_by(obj)[0]


def dumps_str_by(obj) -> tuple[str, bool]:
    """dumps_str's text, and whether orjson wrote it (loads_copies' orjson_wrote)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj).decode(), True
        except (TypeError, ValueError):
            pass
    return json.dumps(obj, separators=(",", ":")), False


def loads(data: str | bytes):
    """Parse JSON text or bytes; errors are the standard library's ValueError."""
    if orjson is not None and not _long_digits(data):
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)


def loads_copies(data: str | bytes, n: int, orjson_wrote: bool = False) -> list:
    """`n` independent parses of the same text (a read-modify-write wants the current object,
    one to mutate and one as the old state); the digit-run check runs once for all of them, and
    not at all when `orjson_wrote` (the caller knows orjson wrote this very text, dumps_str_by:
    orjson refuses integers beyond 64 bits and writes a float in at most 17 significant digits,
    so it reads its own text as the standard library does)."""
    if orjson is not None and (orjson_wrote or not _long_digits(data)):
        try:
            return [orjson.loads(data) for _ in range(n)]
        except ValueError:
            pass
    return [json.loads(data) for _ in range(n)]
