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
    ("non-ASCII splitting a run", '{"s": "123456789ü0123456789"}', False),
    ("characters beyond the BMP around digits", '{"s": "\U0001F600123456789012345678\U0001F600"}', False),
    ("a run after characters beyond the BMP", '{"s": "\U0001F6001234567890123456789"}', True),
    ("non-ASCII digits are no JSON digits", '{"s": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669'
                                             '\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"}', False),
    ("a run in a bytearray's text", '{"n": 98765432109876543210}', True),
]


@pytest.mark.parametrize("what,text,long_run", LONG_DIGIT_CASES, ids=[c[0] for c in LONG_DIGIT_CASES])
def test_long_digit_runs_are_found_in_text_and_bytes_and_parse_exactly(what, text, long_run):
    assert jsonio._long_digits(text) == long_run, what
    assert jsonio._long_digits(text.encode()) == long_run, what
    assert jsonio._long_digits(bytearray(text.encode())) == long_run, what
    assert jsonio.loads(text) == json.loads(text) == jsonio.loads(text.encode()), what


def test_a_lone_surrogate_in_text_is_checked_and_refused_like_the_standard_library():
    text = '{"s": "\ud800' + "1" * 19 + '"}'
    assert jsonio._long_digits(text) and not jsonio._long_digits('{"s": "\ud800"}')
    assert jsonio.loads('"\\ud800"') == json.loads('"\\ud800"')  # the escape, not the character


@pytest.mark.parametrize("what,text,long_run", LONG_DIGIT_CASES, ids=[c[0] for c in LONG_DIGIT_CASES])
def test_loads_copies_are_equal_and_independent(what, text, long_run):
    copies = jsonio.loads_copies(text, 3)
    assert copies == [json.loads(text)] * 3, what
    assert copies[0] is not copies[1] and copies[1] is not copies[2], what
    copies[0]["added"] = 1
    assert "added" not in copies[1] and "added" not in copies[2], what


def test_loads_copies_errors_are_the_standard_librarys():
    with pytest.raises(ValueError) as e:
        jsonio.loads_copies('{"a": ', 2)
    assert "line 1 column" in str(e.value)
