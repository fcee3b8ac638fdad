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
import re

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    orjson = None

_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_B = re.compile(rb"[0-9]{19}")


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
    long_digits = _LONG_DIGITS_B if isinstance(data, (bytes, bytearray)) else _LONG_DIGITS
    if orjson is not None and not long_digits.search(data):
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)
