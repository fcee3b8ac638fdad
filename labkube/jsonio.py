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

# a run of 19 digits, found as 19 zeros after every digit is mapped to "0": str/bytes.translate
# and `in` are C loops, about 25 times faster than re.search([0-9]{19}) on a pod's JSON (the
# search ran on every parse and cost four times the parse itself)
_DIGITS_B = bytes.maketrans(b"0123456789", b"0" * 10)
_DIGITS = str.maketrans("123456789", "0" * 9)
_RUN_B, _RUN = b"0" * 19, "0" * 19


def _long_digits(data: str | bytes) -> bool:
    """Whether `data` holds a run of 19 or more digits."""
    if isinstance(data, (bytes, bytearray)):
        return _RUN_B in data.translate(_DIGITS_B)
    return _RUN in data.translate(_DIGITS)


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
    if orjson is not None:
        try:
            return orjson.dumps(obj).decode()
        except (TypeError, ValueError):
            pass
    return json.dumps(obj, separators=(",", ":"))


def loads(data: str | bytes):
    """Parse JSON text or bytes; errors are the standard library's ValueError."""
    if orjson is not None and not _long_digits(data):
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)
