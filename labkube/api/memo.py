"""Memos of pure functions of JSON values, keyed by the value's JSON text.

Pods made from one template (a ReplicaSet's, a Job's, a DaemonSet's, a benchmark's) carry the
same spec, and part of the apiserver's work on a pod is a function of that spec alone: its
defaults, its validation, the spec's managedFields trie. `JsonMemo` keeps such results for the
last `size` distinct spec texts (least recently used dropped first), so the next pod with the
same spec pays one `orjson.dumps` (the key) and one `loads` (a fresh copy of the result)
instead of the Python walk.

Results are kept as JSON text or as immutable values, and handed out as fresh objects: a
caller may mutate what it gets. Keys are exact: a value whose JSON text would also stand for
another value (NaN and Infinity are written as null, a YAML timestamp as its string, a str
subclass as a str) or that JSON cannot hold (integers beyond 64 bits, non-string keys) gets no
key and takes the uncached path. (A tuple is written as the list it would be after any JSON
round trip; request bodies hold lists.)
"""
from __future__ import annotations

import copy
from collections import OrderedDict

from .. import jsonio

try:
    import orjson
    # datetime, dataclass and str/int/dict/list subclasses raise instead of being written as
    # their JSON form (which a plain string, dict... would share)
    _STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None


class JsonMemo:
    """An LRU map from JSON text (bytes) to a result; `hits`/`misses` count lookups."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(value) -> bytes | None:
        """The JSON text of value, or None when the text would not stand for it exactly."""
        if orjson is None:
            return text_of(value)
        try:
            text = orjson.dumps(value, option=_STRICT)
        except TypeError:
            return None
        # null: a JSON null, or a NaN/Infinity written as one (then the text reads back unequal)
        return text_of(value) if b"null" in text else text

    def get(self, key: bytes | None):
        """The result stored under key (None: none)."""
        if key is None:
            return None
        hit = self._d.get(key)
        if hit is None:
            self.misses += 1
            return None
        self._d.move_to_end(key)
        self.hits += 1
        return hit

    def put(self, key: bytes | None, result) -> None:
        if key is None or result is None:
            return
        self._d[key] = result
        if len(self._d) > self.size:
            self._d.popitem(last=False)

    def clear(self) -> None:
        self._d.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._d)


def text_of(value) -> bytes | None:
    """JSON text that `fresh` reads back as a value equal to `value` (None when it would not: NaN,
    integers beyond 64 bits, a run of 19 digits, which jsonio leaves to the standard library)."""
    try:
        text = jsonio.dumps(value)
        if jsonio._long_digits(text):  # noqa: SLF001 - the very rule jsonio.loads applies
            return None
        return text if fresh(text) == value else None
    except (TypeError, ValueError):
        return None


def fresh(text: bytes):
    """A new value from text that text_of made (orjson's parse: text_of ruled out what it reads
    differently from the standard library)."""
    return orjson.loads(text) if orjson is not None else jsonio.loads(text)


def same_json(a, b) -> bool:
    """Whether a and b are the same JSON: equal, and written as the same text (types and key order
    too: 1, 1.0 and true are equal in Python but not the same JSON). False for what JSON cannot hold
    exactly (NaN is never equal; subclasses and integers beyond 64 bits are not written)."""
    if a != b:
        return False
    if orjson is None:
        return text_of(a) is not None and text_of(a) == text_of(b)
    try:
        return orjson.dumps(a, option=_STRICT) == orjson.dumps(b, option=_STRICT)
    except TypeError:
        return False


def exact_copy(value):
    """A deep copy of a JSON value with every type kept as it is: one C-level JSON round trip when
    the value holds only plain JSON types (orjson refuses a subclass, a datetime or an integer
    beyond 64 bits here; a NaN or a tuple reads back unequal), else copy.deepcopy. The patch
    merges copy the lists they replace or merge into with it."""
    if orjson is not None:
        try:
            text = orjson.dumps(value, option=_STRICT)
        except TypeError:
            text = None
        if text is not None:
            out = orjson.loads(text)
            if out == value:
                return out
    return copy.deepcopy(value)


def clone(value):
    """A deep copy of a JSON value: a JSON round trip (orjson: several times faster than
    copy.deepcopy) when it gives back an equal value, else copy.deepcopy. The parse that checks the
    round trip (text_of's) is the copy: one parse, not two."""
    try:
        text = jsonio.dumps(value)
        if not jsonio._long_digits(text):  # noqa: SLF001 - the very rule jsonio.loads applies
            out = fresh(text)
            if out == value:
                return out
    except (TypeError, ValueError):
        pass
    return copy.deepcopy(value)
