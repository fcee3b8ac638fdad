"""Kubernetes resource quantities ("500m", "64Mi", "1.5", "2G") as numbers."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def parse_quantity(q) -> Decimal:
    if isinstance(q, (int, float)):
        return Decimal(str(q))
    s = str(q).strip()
    for suf in sorted(_SUFFIX, key=len, reverse=True):
        if suf and s.endswith(suf):
            num, mult = s[: -len(suf)], _SUFFIX[suf]
            break
    else:
        num, mult = s, 1
    try:
        return Decimal(num) * Decimal(mult)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {q!r}") from None


def milli_cpu(q) -> int:
    return int(parse_quantity(q) * 1000)


def bytes_(q) -> int:
    return int(parse_quantity(q))
