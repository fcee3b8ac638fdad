"""Resource quantities ("100m", "1.5", "128Mi", "1G", "2e3") parsed to exact Fractions and back."""
from __future__ import annotations

import functools
import re
from fractions import Fraction

_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DEC = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1, "k": 10**3,
        "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_RE = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")


def parse(q) -> Fraction:
    """ValueError for something that is not a quantity."""
    if type(q) is str:
        return _parse_text(q)
    return _parse(q)


@functools.lru_cache(maxsize=4096)
def _parse_text(q: str) -> Fraction:
    """Manifests repeat the same few quantities ("100m", "128Mi"): parse each once."""
    return _parse(q)


def _parse(q) -> Fraction:
    if isinstance(q, bool):
        raise ValueError(f"quantities must match the regular expression: {q!r}")
    if isinstance(q, (int, float)):
        return Fraction(str(q))
    m = _RE.match(str(q).strip())
    if not m or m.group(1) in (".", "+", "-", ""):
        raise ValueError(f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {q!r}")
    num, suf = Fraction(m.group(1)), m.group(2) or ""
    if suf in _BIN:
        return num * _BIN[suf]
    if suf in _DEC:
        return num * _DEC[suf]
    return num * Fraction(10) ** int(suf[1:])


def format_cpu(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{int(v * 1000)}m"


def format_bytes(v: Fraction) -> str:
    n = int(v)
    for suf in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if n and n % _BIN[suf] == 0:
            return f"{n // _BIN[suf]}{suf}"
    return str(n)


def format_as(name: str, v: Fraction) -> str:
    """Format a total for a quota key (cpu-like keys in cores/milli, memory-like in bytes)."""
    if "cpu" in name:
        return format_cpu(v)
    if "memory" in name or "storage" in name:
        return format_bytes(v)
    return str(int(v)) if v.denominator == 1 else format_cpu(v)
