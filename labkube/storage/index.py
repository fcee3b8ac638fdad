"""An in-memory map of key -> (JSON text, revision), bucketed by resource for prefix scans.

Keys look like `/registry/<resource>/<namespace>/<name>`; the bucket is `/registry/<resource>/`.
A key's bucket is found once, when the key is first put: gets, puts and deletes of a known key
look it up in `_where` instead of cutting the key again (several per write).
"""
from __future__ import annotations


def bucket_of(key: str) -> str:
    """'/registry/pods/ns/name' -> '/registry/pods/' (the per-resource bucket)."""
    parts = key.split("/", 3)
    return "/".join(parts[:3]) + "/" if len(parts) > 3 else key


class _Bucket:
    """One bucket's keys and how many puts and deletes it has seen."""
    __slots__ = ("items", "changes")

    def __init__(self):
        self.items: dict[str, tuple[str, int]] = {}
        self.changes = 0


class KeyIndex:
    def __init__(self):
        self._buckets: dict[str, _Bucket] = {}
        self._where: dict[str, _Bucket] = {}  # key -> its bucket, for the keys held

    def get(self, key: str) -> tuple[str, int] | None:
        b = self._where.get(key)
        return None if b is None else b.items.get(key)

    def put(self, key: str, text: str, rev: int) -> None:
        b = self._where.get(key)
        if b is None:
            name = bucket_of(key)
            b = self._buckets.get(name)
            if b is None:
                b = self._buckets[name] = _Bucket()
            self._where[key] = b
        b.items[key] = (text, rev)
        b.changes += 1

    def delete(self, key: str) -> None:
        b = self._where.pop(key, None)
        if b is not None and b.items.pop(key, None) is not None:
            b.changes += 1

    def changes(self, prefix: str) -> int | None:
        """A count that moves with every put and delete of a key under prefix's resource bucket
        (for caches of what a resource's few objects decide); None for prefixes above a bucket."""
        if prefix.count("/") < 3:
            return None
        b = self._buckets.get(bucket_of(prefix))
        return 0 if b is None else b.changes

    def any(self, prefix: str) -> bool:
        """Whether any key lies under prefix (without collecting and sorting them)."""
        if prefix.count("/") >= 3:
            b = self._buckets.get(bucket_of(prefix))
            return b is not None and bool(b.items) and any(k.startswith(prefix) for k in b.items)
        return any(k.startswith(prefix) for b in self._buckets.values() for k in b.items)

    def scan(self, prefix: str) -> list[tuple[str, str, int]]:
        """[(key, text, rev)] under prefix, sorted by key."""
        out = []
        if prefix.count("/") >= 3:  # every key under it shares the prefix's bucket: look only there
            name = bucket_of(prefix)
            b = self._buckets.get(name)
            buckets = [(name, b.items if b is not None else {})]
        else:
            buckets = [(name, b.items) for name, b in self._buckets.items()]
        for bucket, items in buckets:
            if bucket.startswith(prefix) or prefix.startswith(bucket):
                out.extend((k, v, r) for k, (v, r) in items.items() if k.startswith(prefix))
        out.sort(key=lambda t: t[0])
        return out
