"""SqliteStorage.parse: the text the store wrote with orjson is decoded without jsonio's check for a
run of 19 digits, and gives what jsonio.loads_copies gives (the earlier decode), value, types and key
order, on a table of values (integers at and beyond 64 bits, long digit strings, floats with 17
digits, NaN, non-ASCII, lone surrogates); the stored text is jsonio.dumps_str's, byte for byte; a
text orjson refused, a text read at start, another object with the same text and a deleted key's text
take the checked decode."""
import math

import pytest

from labkube import jsonio
from labkube.storage import open_storage
from labkube.storage.interface import Storage

DIGITS = "1234567890" * 3


def _value(payload):
    return {"metadata": {"name": "x"}, "data": payload}


# (what, payload, orjson writes it)
VALUES = [
    ("a pod-like object", {"spec": {"containers": [{"name": "c", "image": "nginx"}]}, "n": 3, "ok": True,
                           "none": None}, True),
    ("int64 max (19 digits)", 2 ** 63 - 1, True),
    ("int64 min", -2 ** 63, True),
    ("uint64 max (20 digits)", 2 ** 64 - 1, True),
    ("beyond 64 bits", 2 ** 64, False),
    ("10**25", 10 ** 25, False),
    ("a list with a big negative", [1, -(2 ** 70)], False),
    ("30 digits in a string", DIGITS, True),
    ("digits in a key", {DIGITS: 1}, True),
    ("17-digit floats", [1.2345678901234567e+300, 0.1, 1e16, -0.0, 5e-324, 2.2250738585072014e-308], True),
    ("NaN and infinity (written as null)", [math.nan, math.inf], True),
    ("non-ASCII", "é ✓ 😀", True),
    ("a lone surrogate", "a\ud800b", False),
    ("nested lists", [[[]], [{}], ["1" * 19]], True),
]


def _typed(v):
    """v with every value's type, and the order of keys."""
    if isinstance(v, dict):
        return ("dict", tuple((k, _typed(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", tuple(_typed(x) for x in v))
    if isinstance(v, float):
        return ("float", repr(v))
    return (type(v).__name__, v)


@pytest.fixture
async def store(tmp_path):
    st = await open_storage({"backend": "sqlite", "path": str(tmp_path / "s.db"), "fsync": False})
    yield st
    await st.close()


@pytest.mark.parametrize("payload,own", [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("n", [1, 2, 3])
async def test_parse_gives_the_checked_decode(store, payload, own, n):
    k = "/registry/configmaps/d/x"
    value = _value(payload)
    await store.create(k, value)                     # stamps value's resourceVersion as it stores it
    text, _ = await store.get_raw(k, True)
    assert text == jsonio.dumps_str(value)            # the text stored is as before
    assert (store._own.get(k) is text) == own          # noqa: SLF001 - which decode parse takes
    got = store.parse(k, text, n)
    want = jsonio.loads_copies(text, n)
    assert [_typed(g) for g in got] == [_typed(w) for w in want]
    assert len({id(g) for g in got}) == n             # independent copies
    # the same text in another object is not taken for the store's own: the checked decode
    other = "".join(list(text))
    assert other is not text and [_typed(g) for g in store.parse(k, other, n)] == [_typed(w) for w in want]


async def test_own_text_follows_the_key(store, tmp_path):
    k = "/registry/configmaps/d/x"
    await store.create(k, _value(1))
    first, _ = await store.get_raw(k, True)
    await store.update(k, _value(2 ** 64))           # orjson refuses it: the key's text is no longer its own
    assert k not in store._own                       # noqa: SLF001
    await store.update(k, _value(3))
    text, _ = await store.get_raw(k, True)
    assert store._own[k] is text and store.parse(k, first)[0]["data"] == 1  # an older text: checked decode
    await store.delete(k)
    assert k not in store._own                       # noqa: SLF001
    await store.create(k, _value(4))
    await store.close()
    again = await open_storage({"backend": "sqlite", "path": str(tmp_path / "s.db"), "fsync": False})
    try:
        text, _ = await again.get_raw(k, True)
        assert not again._own and again.parse(k, text) == [jsonio.loads(text)]  # noqa: SLF001 - read at start
    finally:
        await again.close()


def test_the_interface_decodes_any_text():
    class Bare(Storage):
        async def get(self, key, latest=False):
            raise NotImplementedError

        async def list(self, prefix, latest=False):
            raise NotImplementedError

    for _what, payload, _own in VALUES:
        text = jsonio.dumps_str(_value(payload))
        assert [_typed(v) for v in Bare.parse(None, "k", text, 2)] == \
            [_typed(v) for v in jsonio.loads_copies(text, 2)]
