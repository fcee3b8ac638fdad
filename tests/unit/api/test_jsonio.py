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


LONG_DIGIT_CASES = [  # (what, JSON text, has a run of 19+ digits: parsed by the standard library)
    ("no digits", '{"a": "b"}', False),
    ("18 digits", '{"n": 123456789012345678}', False),
    ("19 digits", '{"n": 1234567890123456789}', True),
    ("beyond 64 bits", '{"n": -123456789012345678901234567890}', True),
    ("runs split by other characters", '{"t": "2026-12-01T22:00:00Z", "u": "12345678901234567.89"}', False),
    ("19 digits inside a string", '{"s": "x0000000000000000000y"}', True),
    ("non-ASCII next to digits", '{"s": "ü1234567890123456789ü"}', True),
]


@pytest.mark.parametrize("what,text,long_run", LONG_DIGIT_CASES, ids=[c[0] for c in LONG_DIGIT_CASES])
def test_long_digit_runs_are_found_in_text_and_bytes_and_parse_exactly(what, text, long_run):
    assert jsonio._long_digits(text) == long_run, what
    assert jsonio._long_digits(text.encode()) == long_run, what
    assert jsonio.loads(text) == json.loads(text) == jsonio.loads(text.encode()), what
