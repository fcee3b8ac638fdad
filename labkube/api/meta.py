"""Small helpers about object metadata: timestamps, uids, generated names, object keys."""
from __future__ import annotations

import datetime as _dt
import random
import string
import time

# Kubernetes' alphabet for what it makes up in names: generated suffixes, pod-template-hash (no
# vowels, no look-alikes)
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


_NOW = [0, ""]  # (second, its text): formatted once a second, not once per write


def now() -> str:
    """The current time as RFC 3339 (seconds, UTC), the format of creationTimestamp."""
    t = int(time.time())
    if t != _NOW[0]:
        _NOW[1] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        _NOW[0] = t
    return _NOW[1]


def parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


_RNG = random.SystemRandom()
_FAST = random.Random(_RNG.getrandbits(256))  # seeded once: os.urandom per uid is a slow syscall


# what uuid.UUID(int=n, version=4) does to n: RFC 4122 variant bits 10, version nibble 4
_UID_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))
_UID_SET = (0x8000 << 48) | (4 << 76)


def new_uid() -> str:
    """A random (version 4) UUID: str(uuid.UUID(int=random 128 bits, version=4)), formatted directly."""
    h = "%032x" % ((_FAST.getrandbits(128) & _UID_CLEAR) | _UID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def generate_name(prefix: str) -> str:
    """generateName + 5 random characters (prefix trimmed so the name stays <= 63)."""
    return prefix[:58] + "".join(random.choice(SAFE_ALPHABET) for _ in range(5))


def metadata(obj: dict) -> dict:
    """obj['metadata'] as a dict, created if absent or null."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))
