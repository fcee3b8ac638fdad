"""Informer: list + watch one resource into a local cache and call add/update/delete handlers.

The cache is keyed `namespace/name` (just `name` for cluster-scoped objects). The watch
resumes from the last resourceVersion seen; a 410 Expired (or any other watch error)
means a relist, and a stream that ends is simply re-opened. A relist diffs against the
cache so handlers see deletions that happened while disconnected. `has_synced` becomes
true after the first list has been delivered.

Objects pass through `transform` before they are cached: by default `compact`, which drops
`metadata.managedFields` (as kube components do: no controller reads them, and they are about
half of a pod's metadata; the apiserver keeps them when an update omits them) and shares the
keys and short string values between objects (sys.intern): every pod repeats "metadata",
"Running", "default", its node name ...; a cached pod takes less than half the memory.

`select(obj) -> bool` keeps only some objects, as a client-side selector: the others are not
cached and no handler sees them (the hollow kubelets want only the pods bound to their nodes). It
must be sticky: once an object is selected, its later versions are too (a pod's spec.nodeName,
once set, never changes). `select_hint` (bytes, with select) lets the watch skip events without
decoding them: it must occur in the JSON text of every selected object (b'"nodeName"' for pods
with a node), so an ADDED/MODIFIED/DELETED line without it is of an object that is not selected
and, select being sticky, never was: it is dropped undecoded. BOOKMARK and ERROR lines, and lines
of any other shape, are always decoded. A skipped line does not advance the resourceVersion the
watch resumes from (as with events a server-side selector filters out); bookmarks do, and a
re-watch from an older resourceVersion skips the same lines again.

Indexes (`add_index(name, fn)`, fn(obj) -> the values to file it under) answer
`by_index(name, value)` without scanning the cache, e.g. a controller's pods by owner uid.
`add_index(name, fn, reads=paths)` declares that fn reads nothing but the values at those paths
(key tuples, e.g. ("metadata", "ownerReferences")): an update whose old and new objects hold equal
values at every path (a missing key equals only a missing key) keeps the values fn filed the old
one under, so the index is left as it is without calling fn on either (fn(old) == fn(new) is all
the filing looked at). A pod's Running status write leaves its owner and node indexes alone.
"""
from __future__ import annotations

import asyncio
import logging
import random
import sys
from typing import Callable

from .. import jsonio
from .errors import ApiError
from .rest import as_resource

log = logging.getLogger(__name__)


SHARED_STR_MAX = 64            # longer strings (certificates, scripts, JSON blobs) are left alone


def strip_managed_fields(obj: dict) -> dict:
    md = obj.get("metadata")
    if md and "managedFields" in md:
        del md["managedFields"]
    return obj


def _shared(v, intern=sys.intern, limit=SHARED_STR_MAX):
    """`v` copied with dict keys and short strings interned. Strings, numbers and booleans inside a
    dict or list are handled inline, not by a call each: most values of an object are such leaves,
    and this runs on every watch event an informer receives."""
    t = type(v)
    if t is dict:
        out = {}
        for k, x in v.items():
            tx = type(x)
            if tx is str:
                out[intern(k)] = intern(x) if len(x) <= limit else x
            elif tx is dict or tx is list:
                out[intern(k)] = _shared(x)
            else:
                out[intern(k)] = x
        return out
    if t is list:
        out = []
        for x in v:
            tx = type(x)
            if tx is str:
                out.append(intern(x) if len(x) <= limit else x)
            elif tx is dict or tx is list:
                out.append(_shared(x))
            else:
                out.append(x)
        return out
    if t is str:
        return intern(v) if len(v) <= limit else v
    return v


def compact(obj: dict) -> dict:
    """The object without managedFields, as a copy whose keys and short strings are shared."""
    return _shared(strip_managed_fields(obj))


class SharedValues:
    """Equal JSON values held once: `share(v)` returns the value kept for v's JSON text, v's compact
    copy the first time. Pods of one template repeat their containers, tolerations, labels and
    ownerReferences; a view that shares them keeps one copy per template instead of one per pod.
    What an informer caches is read-only to its handlers (as in client-go), which is what makes
    the sharing safe. Holds at most `size` values (then starts over: earlier sharers keep theirs)."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._kept: dict[bytes, object] = {}

    def share(self, v):
        try:
            key = jsonio.dumps(v)
        except (TypeError, ValueError):
            return _shared(v)
        got = self._kept.get(key)
        if got is None:
            if len(self._kept) >= self.size:
                self._kept.clear()
            got = self._kept[key] = _shared(v)
        return got

    def __len__(self) -> int:
        return len(self._kept)


def keep_keys(items: list | None, keep: tuple[str, ...]) -> list:
    """Each dict of `items` cut down to the keys in `keep` (for a transform's container lists)."""
    return [{k: c[k] for k in keep if k in c} for c in items or ()]


OBJECT_EVENT_PREFIXES = (b'{"type":"ADDED"', b'{"type":"MODIFIED"', b'{"type":"DELETED"')


def hint_filter(hint: bytes) -> Callable[[bytes], bool]:
    """A watch line predicate: False (skip it undecoded) only for an ADDED, MODIFIED or DELETED
    event in compact encoding, type first (as the apiserver writes them), without `hint`."""
    def wanted(line: bytes, hint=hint, prefixes=OBJECT_EVENT_PREFIXES) -> bool:
        return hint in line or not line.startswith(prefixes)
    return wanted


_MISSING = object()


def same_at(a: dict, b: dict, paths: tuple[tuple[str, ...], ...], missing=_MISSING) -> bool:
    """True when a and b hold equal values at every path (a key tuple; a missing key equals only a
    missing key); False also when a value on the way down is not a dict in one of them."""
    for path in paths:
        x, y = a, b
        for k in path:
            if x is y:
                break
            if type(x) is not dict or type(y) is not dict:
                return False
            x = x.get(k, missing)
            y = y.get(k, missing)
        else:
            if x is not y and x != y:
                return False
    return True


def same_at_paths(paths: tuple[tuple[str, ...], ...]) -> Callable[[dict, dict], bool]:
    """same_at(a, b, paths) as a function of a and b; for one or two paths of two keys under one
    top-level key (what the controllers' pod indexes read), written out."""
    tops = {p[0] for p in paths}
    if len(tops) == 1 and all(len(p) == 2 for p in paths) and len(paths) <= 2:
        top = next(iter(tops))
        k1, k2 = paths[0][1], paths[-1][1]

        def same(a: dict, b: dict, top=top, k1=k1, k2=k2, missing=_MISSING) -> bool:
            x = a.get(top, missing)
            y = b.get(top, missing)
            if x is y:
                return True
            if type(x) is not dict or type(y) is not dict:
                return False
            u = x.get(k1, missing)
            v = y.get(k1, missing)
            if u is not v and u != v:
                return False
            u = x.get(k2, missing)
            v = y.get(k2, missing)
            return u is v or u == v
        return same
    return lambda a, b: same_at(a, b, paths)


def object_key(obj: dict) -> str:
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{ns}/{md['name']}" if ns else md["name"]


class Informer:
    def __init__(self, client, res, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, retry_delay: float = 1.0,
                 watch_timeout: tuple[int, int] | None = (300, 600),
                 transform: Callable[[dict], dict] | None = compact,
                 select: Callable[[dict], bool] | None = None, select_hint: bytes | None = None):
        self.client = client
        self.resource = as_resource(res)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.retry_delay = retry_delay
        self.watch_timeout = watch_timeout      # ask the server to end each watch after 300-600 s
        self.transform = transform              # applied to every object before it is cached
        if select_hint is not None and select is None:
            raise ValueError("select_hint needs select")
        self.select = select                    # objects it rejects are neither cached nor handled
        # the watch's line predicate (Client.watch(decode_line=)): False skips a line undecoded;
        # select_hint sets it, and a component that applies some lines itself (the scheduler's
        # StatusLines) may set its own after construction
        self.decode_line: Callable[[bytes], bool] | None = (hint_filter(select_hint)
                                                            if select_hint is not None else None)
        self.cache: dict[str, dict] = {}
        self.last_rv: str | None = None
        self.has_synced = False
        self._synced = asyncio.Event()
        self._handlers: list[tuple[Callable | None, Callable | None, Callable | None]] = []
        self._task: asyncio.Task | None = None
        self._stopped = False
        self.relists = 0
        self._indexers: dict[str, Callable[[dict], list]] = {}
        # name -> same(old, new): True when the paths add_index's reads named hold equal values
        self._same: dict[str, Callable[[dict, dict], bool] | None] = {}
        self._indices: dict[str, dict[object, dict[str, None]]] = {}   # name -> value -> keys (ordered)

    def add_handlers(self, on_add: Callable | None = None, on_update: Callable | None = None,
                     on_delete: Callable | None = None) -> None:
        """on_add(obj), on_update(old, new), on_delete(obj); plain functions, called in order."""
        self._handlers.append((on_add, on_update, on_delete))

    # -- indexes ------------------------------------------------------------------------------

    def add_index(self, name: str, fn: Callable[[dict], list],
                  reads: tuple[tuple[str, ...], ...] | None = None) -> None:
        """File every object under fn(obj) (a list of hashable values) in index `name`. Adding
        an index that exists already keeps the first one (informers are shared). `reads`: the
        paths fn reads, when it reads nothing else (fn must give equal results for objects
        with equal values there); an update that leaves them equal is not refiled."""
        if name in self._indexers:
            return
        if reads is not None:
            reads = tuple(tuple(path) for path in reads)
            if not reads or not all(reads):
                raise ValueError("reads needs non-empty paths")
        self._indexers[name] = fn
        self._same[name] = same_at_paths(reads) if reads is not None else None
        self._indices[name] = {}
        for key, obj in self.cache.items():
            self._file(name, key, None, obj)

    def by_index(self, name: str, value) -> list[dict]:
        keys = self._indices[name].get(value) or {}
        return [self.cache[k] for k in keys]

    def index_values(self, name: str) -> list:
        """The values index `name` currently files objects under."""
        return list(self._indices[name])

    def _file(self, name: str, key: str, old: dict | None, new: dict | None) -> None:
        fn, idx = self._indexers[name], self._indices[name]
        before = fn(old) if old is not None else []
        after = fn(new) if new is not None else []
        if before == after:           # most updates keep the values: nothing to refile, no sets
            return
        before, after = set(before), set(after)
        for v in before - after:
            keys = idx.get(v)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del idx[v]
        for v in after - before:
            idx.setdefault(v, {})[key] = None

    def _store(self, key: str, obj: dict | None) -> dict | None:
        """Put obj in the cache under key (None: remove it), keeping the indexes; returns the old one."""
        old = self.cache.get(key)
        if obj is None:
            self.cache.pop(key, None)
        else:
            self.cache[key] = obj
        if old is None or obj is None:
            for name in self._indexers:
                self._file(name, key, old, obj)
            return old
        for name, same in self._same.items():
            if same is None or not same(old, obj):
                self._file(name, key, old, obj)
        return old

    # -- cache access -----------------------------------------------------------------------

    def get(self, key: str) -> dict | None:
        return self.cache.get(key)

    def get_by(self, name: str, namespace: str | None = None) -> dict | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    def items(self) -> list[dict]:
        return list(self.cache.values())

    def keys(self) -> list[str]:
        return list(self.cache)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"informer-{self.resource.name}")
        return self._task

    async def wait_synced(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def run(self) -> None:
        need_list = True
        while not self._stopped:
            try:
                if need_list:
                    await self.relist()
                    need_list = False
                await self._watch()
                # stream ended cleanly: resume from last_rv
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                if e.code == 410:
                    log.info("%s watch expired; relisting", self.resource.name)
                else:
                    log.warning("%s list/watch failed: %s", self.resource.name, e)
                    await asyncio.sleep(self.retry_delay)
                need_list = True
            except Exception as e:  # connection errors and the like
                log.warning("%s list/watch failed: %r", self.resource.name, e)
                need_list = True
                await asyncio.sleep(self.retry_delay)

    async def relist(self) -> None:
        out = await self.client.list_raw(self.resource, self.namespace, self.label_selector,
                                         self.field_selector)
        self.relists += 1
        tf = self.transform or (lambda o: o)
        sel = self.select
        fresh = {object_key(o): tf(o) for o in out["items"] if sel is None or sel(o)}
        for key, old in list(self.cache.items()):
            if key not in fresh:
                self._store(key, None)
                self._dispatch("DELETED", old, None)
        for key, obj in fresh.items():
            old = self._store(key, obj)
            if old is None:
                self._dispatch("ADDED", None, obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._dispatch("MODIFIED", old, obj)
        self.last_rv = out.get("metadata", {}).get("resourceVersion") or self.last_rv
        if not self.has_synced:
            self.has_synced = True
            self._synced.set()

    async def _watch(self) -> None:
        skip = {"decode_line": self.decode_line} if self.decode_line is not None else {}
        async for ev in self.client.watch(self.resource, self.namespace, resource_version=self.last_rv,
                                          label_selector=self.label_selector,
                                          field_selector=self.field_selector, allow_bookmarks=True,
                                          timeout_seconds=random.randint(*self.watch_timeout)
                                          if self.watch_timeout else None, **skip):
            self.handle_event(ev)

    def handle_event(self, ev: dict) -> None:
        obj = ev.get("object") or {}
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.last_rv = rv
        t = ev.get("type")
        if t == "BOOKMARK":
            return
        if self.select is not None and not self.select(obj):
            key = object_key(obj)
            if key in self.cache:       # left the selection (a select that is not sticky)
                self._dispatch("DELETED", self._store(key, None), None)
            return
        if self.transform is not None:
            obj = self.transform(obj)
        self.deliver(t, obj)

    def deliver(self, t: str, obj: dict, key: str | None = None) -> None:
        """An ADDED, MODIFIED or DELETED event whose object is already what the cache keeps (past
        `select` and `transform`): stored and handed to the handlers as handle_event does after
        the transform; for a component that builds the cached object from the watch line itself
        (the scheduler's StatusLines; it moves `last_rv` itself). `key`: the object's cache key,
        when the caller has it."""
        if key is None:
            key = object_key(obj)
        if t == "DELETED":
            old = self._store(key, None)
            self._dispatch("DELETED", old, obj)
        else:
            old = self._store(key, obj)
            self._dispatch("ADDED" if old is None else "MODIFIED", old, obj)

    def _dispatch(self, t: str, old: dict | None, new: dict | None) -> None:
        for on_add, on_update, on_delete in self._handlers:
            try:
                if t == "ADDED" and on_add:
                    on_add(new)
                elif t == "MODIFIED" and on_update:
                    on_update(old, new)
                elif t == "DELETED" and on_delete:
                    on_delete(new if new is not None else old)
            except Exception:
                log.exception("%s handler failed", self.resource.name)
