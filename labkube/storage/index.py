"""An in-memory map of key -> (JSON text, revision), bucketed by resource for prefix scans.

Keys look like `/registry/<resource>/<namespace>/<name>`; the bucket is `/registry/<resource>/`.
"""
from __future__ import annotations


def bucket_of(key: str) -> str:
    """'/registry/pods/ns/name' -> '/registry/pods/' (the per-resource bucket)."""
    parts = key.split("/", 3)
    return "/".join(parts[:3]) + "/" if len(parts) > 3 else key


class KeyIndex:
    def __init__(self):
        self._buckets: dict[str, dict[str, tuple[str, int]]] = {}
        self._changes: dict[str, int] = {}  # bucket -> how many puts and deletes it has seen

    def get(self, key: str) -> tuple[str, int] | None:
        return self._buckets.get(bucket_of(key), {}).get(key)

    def put(self, key: str, text: str, rev: int) -> None:
        b = bucket_of(key)
        self._buckets.setdefault(b, {})[key] = (text, rev)
        self._changes[b] = self._changes.get(b, 0) + 1

    def delete(self, key: str) -> None:
        b = bucket_of(key)
        if self._buckets.get(b, {}).pop(key, None) is not None:
            self._changes[b] = self._changes.get(b, 0) + 1

    def changes(self, prefix: str) -> int | None:
        """A count that moves with every put and delete of a key under prefix's resource bucket
        (for caches of what a resource's few objects decide); None for prefixes above a bucket."""
        if prefix.count("/") < 3:
            return None
        return self._changes.get(bucket_of(prefix), 0)

    def any(self, prefix: str) -> bool:
        """Whether any key lies under prefix (without collecting and sorting them)."""
        if prefix.count("/") >= 3:
            items = self._buckets.get(bucket_of(prefix))
            return bool(items) and any(k.startswith(prefix) for k in items)
        return any(k.startswith(prefix) for items in self._buckets.values() for k in items)

    def scan(self, prefix: str) -> list[tuple[str, str, int]]:
        """[(key, text, rev)] under prefix, sorted by key."""
        out = []
        if prefix.count("/") >= 3:  # every key under it shares the prefix's bucket: look only there
            buckets = [(b, self._buckets.get(b, {})) for b in (bucket_of(prefix),)]
        else:
            buckets = self._buckets.items()
        for bucket, items in buckets:
            if bucket.startswith(prefix) or prefix.startswith(bucket):
                out.extend((k, v, r) for k, (v, r) in items.items() if k.startswith(prefix))
        out.sort(key=lambda t: t[0])
        return out
