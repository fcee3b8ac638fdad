"""Host range expansion: ``w[1:3]-k8s`` -> w1-k8s, w2-k8s, w3-k8s.

Ranges follow Ansible: ``[start:end]`` inclusive, optional ``:step``,
zero padding kept when ``start`` has a leading zero (``[01:10]``),
alphabetic ranges (``[a:c]``), several ranges in one name multiply out.
"""
from __future__ import annotations

import re
import string

_RANGE = re.compile(r"\[([^\]:]*):([^\]:]*)(?::([^\]]*))?\]")


class RangeError(ValueError):
    pass


def has_range(name: str) -> bool:
    return bool(_RANGE.search(name))


def _expand_one(start: str, end: str, step: str | None) -> list[str]:
    try:
        stride = int(step) if step else 1
    except ValueError:
        raise RangeError(f"bad range step {step!r}") from None
    if stride <= 0:
        raise RangeError("range step must be positive")
    if not start:
        start = "0"
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        lo, hi = int(start), int(end)
        if lo > hi:
            raise RangeError(f"range start {start} is after end {end}")
        return [str(i).zfill(width) for i in range(lo, hi + 1, stride)]
    letters = string.ascii_letters
    if len(start) == 1 and len(end) == 1 and start in letters and end in letters:
        lo, hi = letters.index(start), letters.index(end)
        if lo > hi:
            raise RangeError(f"range start {start} is after end {end}")
        return [letters[i] for i in range(lo, hi + 1, stride)]
    raise RangeError(f"bad host range [{start}:{end}]")


def expand_hostname(name: str) -> list[str]:
    """All names a host pattern with ``[a:b]`` ranges stands for (in order)."""
    m = _RANGE.search(name)
    if not m:
        return [name]
    head, tail = name[: m.start()], name[m.end():]
    out = []
    for middle in _expand_one(m.group(1), m.group(2), m.group(3)):
        for rest in expand_hostname(tail):
            out.append(head + middle + rest)
    return out
