"""Quantity parsing and formatting."""
from fractions import Fraction

import pytest

from labkube.api import quantity


@pytest.mark.parametrize("text,value", [("1", 1), ("100m", Fraction(1, 10)), ("1.5", Fraction(3, 2)), ("2Ki", 2048),
                                        ("128Mi", 128 * 2**20), ("1G", 10**9), ("2e3", 2000), (3, 3), ("0.5Gi", 2**29)])
def test_parse(text, value):
    assert quantity.parse(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "1x", "Mi", True, "1.2.3"])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        quantity.parse(bad)


@pytest.mark.parametrize("key,value,text", [("requests.cpu", Fraction(1, 2), "500m"), ("cpu", Fraction(2), "2"),
                                            ("limits.memory", Fraction(2**30), "1Gi"), ("pods", Fraction(3), "3")])
def test_format(key, value, text):
    assert quantity.format_as(key, value) == text
