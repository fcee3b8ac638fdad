"""Kubernetes resource quantities ("100m", "1.5", "128Mi", "1G", "2e3") as integers.

cpu is counted in millicores, memory and everything else in plain units (bytes, pods).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

_SUFFIX = {
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
}


def parse(q) -> Decimal:
    """A quantity as a Decimal in base units; ValueError if malformed."""
    if q is None:
        return Decimal(0)
    if isinstance(q, (int, float)):
        return Decimal(str(q))
    s = str(q).strip()
    for suf in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"):
        if s.endswith(suf) and not (suf == "E" and "e" in s.lower()[:-1]):
            num = s[: -len(suf)]
            break
    else:
        suf, num = "", s
    try:
        return Decimal(num) * Decimal(_SUFFIX[suf])
    except InvalidOperation as e:
        raise ValueError(f"invalid quantity {q!r}") from e


def milli(q) -> int:
    """cpu: "100m" -> 100, "2" -> 2000 (rounded up, as the scheduler counts)."""
    v = parse(q) * 1000
    return int(v.to_integral_value(rounding="ROUND_CEILING"))


def value(q) -> int:
    v = parse(q)
    return int(v.to_integral_value(rounding="ROUND_CEILING"))


@lru_cache(maxsize=4096)
def _amount(name: str, q: str) -> int:
    return milli(q) if name == "cpu" else value(q)


def amount(name: str, q) -> int:
    """cpu in millicores, anything else in units; cached, schedulers ask a lot."""
    return _amount(name, str(q)) if q is not None else 0
