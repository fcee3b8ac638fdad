"""KeyIndex finds a held key's bucket in its `_where` map instead of cutting the key on every get,
put and delete: the same answers as the earlier index (kept below as the reference) to every get,
changes, any and scan, after random sequences of puts and deletes over keys of several shapes
(namespaced, cluster-scoped, custom resources' group paths, keys without a bucket, odd slashes)."""
import random

import pytest

from labkube.storage.index import KeyIndex

# -- the earlier index, as it was (reference) -----------------------------------------------


def old_bucket_of(key: str) -> str:
    """'/registry/pods/ns/name' -> '/registry/pods/' (the per-resource bucket)."""
    parts = key.split("/", 3)
    return "/".join(parts[:3]) + "/" if len(parts) > 3 else key


class OldKeyIndex:
    def __init__(self):
        self._buckets: dict[str, dict[str, tuple[str, int]]] = {}
        self._changes: dict[str, int] = {}  # bucket -> how many puts and deletes it has seen

    def get(self, key: str) -> tuple[str, int] | None:
        return self._buckets.get(old_bucket_of(key), {}).get(key)

    def put(self, key: str, text: str, rev: int) -> None:
        b = old_bucket_of(key)
        self._buckets.setdefault(b, {})[key] = (text, rev)
        self._changes[b] = self._changes.get(b, 0) + 1

    def delete(self, key: str) -> None:
        b = old_bucket_of(key)
        if self._buckets.get(b, {}).pop(key, None) is not None:
            self._changes[b] = self._changes.get(b, 0) + 1

    def changes(self, prefix: str) -> int | None:
        """A count that moves with every put and delete of a key under prefix's resource bucket
        (for caches of what a resource's few objects decide); None for prefixes above a bucket."""
        if prefix.count("/") < 3:
            return None
        return self._changes.get(old_bucket_of(prefix), 0)

    def any(self, prefix: str) -> bool:
        """Whether any key lies under prefix (without collecting and sorting them)."""
        if prefix.count("/") >= 3:
            items = self._buckets.get(old_bucket_of(prefix))
            return bool(items) and any(k.startswith(prefix) for k in items)
        return any(k.startswith(prefix) for items in self._buckets.values() for k in items)

    def scan(self, prefix: str) -> list[tuple[str, str, int]]:
        """[(key, text, rev)] under prefix, sorted by key."""
        out = []
        if prefix.count("/") >= 3:  # every key under it shares the prefix's bucket: look only there
            buckets = [(b, self._buckets.get(b, {})) for b in (old_bucket_of(prefix),)]
        else:
            buckets = self._buckets.items()
        for bucket, items in buckets:
            if bucket.startswith(prefix) or prefix.startswith(bucket):
                out.extend((k, v, r) for k, (v, r) in items.items() if k.startswith(prefix))
        out.sort(key=lambda t: t[0])
        return out


# -- the table ----------------------------------------------------------------------------------
KEYS = ["/registry/pods/d/a", "/registry/pods/d/b", "/registry/pods/e/a", "/registry/pods/d/a/b",
        "/registry/nodes/n1", "/registry/nodes/n2", "/registry/example.com/widgets/d/w",
        "/registry/example.com/widgets/w2", "/registry/pods", "/registry/", "/x", "", "//", "///a",
        "/registry/configmaps/d/c", "/registry/podsx/d/a", "/registry/pod/d/a"]
PREFIXES = sorted({k[:i] for k in KEYS for i in range(len(k) + 1)} | {"/registry/pods/", "/registry/nodes/",
                                                                      "/registry/none/", "/nothing/here/"})


def _answers(index, probe_keys, prefixes) -> list:
    out = [index.get(k) for k in probe_keys]
    for p in prefixes:
        out.append((p, index.changes(p), index.any(p), index.scan(p)))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_the_index_answers_as_the_earlier_one(seed):
    rnd = random.Random(seed)
    new, old = KeyIndex(), OldKeyIndex()
    for step in range(rnd.randrange(1, 80)):
        k = rnd.choice(KEYS)
        if rnd.random() < 0.65:
            text, rev = f"t{step}", step
            new.put(k, text, rev)
            old.put(k, text, rev)
        else:
            new.delete(k)
            old.delete(k)
        if step % 7 == 0:
            assert _answers(new, KEYS, PREFIXES) == _answers(old, KEYS, PREFIXES)
    assert _answers(new, KEYS, PREFIXES) == _answers(old, KEYS, PREFIXES)
    assert set(new._where) == {k for b in new._buckets.values() for k in b.items}


def test_an_empty_index():
    assert _answers(KeyIndex(), KEYS, PREFIXES) == _answers(OldKeyIndex(), KEYS, PREFIXES)
