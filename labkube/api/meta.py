"""Small helpers about object metadata: timestamps, uids, generated names, object keys."""
from __future__ import annotations

import datetime as _dt
import random
import string
import uuid

_ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # upstream's alphabet for generated suffixes


def now() -> str:
    """The current time as RFC 3339 (seconds, UTC), the format of creationTimestamp."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


_RNG = random.SystemRandom()
_FAST = random.Random(_RNG.getrandbits(256))  # seeded once: os.urandom per uid is a slow syscall


def new_uid() -> str:
    """A random (version 4) UUID."""
    return str(uuid.UUID(int=_FAST.getrandbits(128), version=4))


def generate_name(prefix: str) -> str:
    """generateName + 5 random characters (prefix trimmed so the name stays <= 63)."""
    return prefix[:58] + "".join(random.choice(_ALNUM) for _ in range(5))


def metadata(obj: dict) -> dict:
    """obj['metadata'] as a dict, created if absent or null."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))
