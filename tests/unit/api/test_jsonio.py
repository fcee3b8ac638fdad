"""labkube.jsonio: orjson where it can, the standard library for what orjson refuses."""
import json

import pytest

from labkube import jsonio


@pytest.mark.parametrize("value", [
    {"a": 1, "b": [1.5, None, True], "c": "ü"},
    {"big": 2 ** 70},            # beyond 64 bits: orjson refuses, json does not
    {1: "non-string key"},       # json turns the key into "1"
])
def test_dumps_matches_stdlib_meaning(value):
    out = jsonio.dumps(value)
    assert isinstance(out, bytes) and b" " not in out.replace(b"non-string key", b"")
    assert json.loads(out) == json.loads(json.dumps(value))
    assert jsonio.dumps_str(value) == out.decode()


def test_loads_text_bytes_and_fallbacks():
    assert jsonio.loads('{"a": [1, 2]}') == {"a": [1, 2]}
    assert jsonio.loads(b'{"n": 123456789012345678901234567890}')["n"] == 123456789012345678901234567890
    assert jsonio.loads("NaN") != jsonio.loads("NaN")  # the standard library's literal


def test_parse_errors_are_the_standard_librarys():
    with pytest.raises(ValueError) as e:
        jsonio.loads(b'{"a": ')
    assert "line 1 column" in str(e.value)
