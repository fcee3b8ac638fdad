"""The storage interface the apiserver talks to; SQLite implements it today, etcd can later.

Values are JSON-able dicts (Kubernetes objects). Every write gets a new, cluster-wide
increasing revision that the apiserver exposes as `metadata.resourceVersion`.
An awaited write has been committed durably before it returns.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from functools import cached_property
from typing import AsyncIterator

from .. import jsonio


@dataclass(frozen=True, init=False)
class Event:
    """One change: type is ADDED, MODIFIED or DELETED; `obj` is the new (or last) value and
    `prev` the value before. Values travel as JSON text and are decoded once, on first use,
    for all watchers that receive this event.

    Frozen (assigning a field raises FrozenInstanceError; equality, hash and repr are the
    dataclass's), with its own __init__: one is built on every write, and the generated frozen
    __init__ sets each field through object.__setattr__ (0.75 us against ~0.35 us filling the
    instance dict directly)."""
    type: str
    key: str
    rev: int
    text: str
    prev_text: str | None = None
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # encoded forms, shared by watchers

    def __init__(self, type: str, key: str, rev: int, text: str, prev_text: str | None = None,
                 cache: dict | None = None) -> None:
        d = self.__dict__
        d["type"] = type
        d["key"] = key
        d["rev"] = rev
        d["text"] = text
        d["prev_text"] = prev_text
        d["cache"] = {} if cache is None else cache

    @cached_property
    def obj(self) -> dict:
        return jsonio.loads(self.text)

    @cached_property
    def prev(self) -> dict | None:
        return jsonio.loads(self.prev_text) if self.prev_text is not None else None


class Watch(abc.ABC):
    """A stream of events for keys under a prefix, in revision order."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    async def next_event(self, timeout: float | None = None):
        """The next Event; the string "timeout" if none arrived in time; None when ended."""

    def next_event_nowait(self):
        """The next Event if one is queued already, else None (never waits; a backend without
        a queue of its own answers None and its watchers get one event per wake-up)."""
        return None

    @property
    @abc.abstractmethod
    def closed_reason(self) -> str | None:
        """Why the watch ended early (e.g. the watcher fell too far behind), else None."""


class Storage(abc.ABC):
    """Key/value store of objects with revisions, preconditions and watch."""

    @abc.abstractmethod
    async def get(self, key: str, latest: bool = False) -> tuple[dict, int]:
        """(value, mod revision) as committed; KeyNotFound if absent. `latest=True` also sees
        writes accepted but not yet committed (for read-modify-write; its result is only
        acknowledged after them)."""

    @abc.abstractmethod
    async def list(self, prefix: str, latest: bool = False) -> tuple[list[tuple[str, dict, int]], int]:
        """([(key, value, mod revision)] sorted by key, the revision of that state)."""

    async def get_raw(self, key: str, latest: bool = False) -> tuple[str, int]:
        """Like get, with the value as its stored JSON text (for fast plain GETs)."""
        value, rev = await self.get(key, latest)
        return jsonio.dumps_str(value), rev

    def parse(self, key: str, text: str, n: int = 1) -> list:
        """`n` independent decodes of `text`, read at `key` through get_raw (jsonio.loads_copies:
        what any JSON text needs); a store that knows how it wrote the text may decode it faster."""
        return jsonio.loads_copies(text, n)

    def hand_over(self, key: str, value: dict, rev: int) -> None:
        """The caller hands `value`, the object it stored at `key` as revision `rev`, to the store,
        and neither keeps nor changes it from now on: while `key` still holds that revision's text,
        the next `parse` of that text may answer its first decode with `value` itself instead of
        decoding the text again. The caller vouches that `value` holds nothing a decode would give
        back differently (only dicts, lists, str, int, float, bool and None; no object twice).
        A store may ignore it (this one does)."""
        return None

    def get_raw_nowait(self, key: str) -> tuple[str, int] | None:
        """get_raw (committed) answered without awaiting, or None: absent, or this store cannot
        answer without I/O (the caller then awaits get_raw). The apiserver's direct GET path."""
        return None

    async def any(self, prefix: str, latest: bool = False) -> bool:
        """Whether any key lies under prefix (cheap: admission asks it on every create)."""
        items, _ = await self.list(prefix, latest)
        return bool(items)

    def changes(self, prefix: str) -> int | None:
        """A number that differs whenever a committed key of prefix's resource (its
        /registry/<resource>/ bucket) has changed since it was last read, or None when the store
        cannot tell cheaply (callers then look at the objects). Admission caches what a
        resource's few objects decide (the globalDefault PriorityClass) by it."""
        return None

    async def list_raw(self, prefix: str) -> tuple[list[tuple[str, str, int]], int]:
        """Like list, with each value as its stored JSON text (for fast unfiltered lists)."""
        items, rev = await self.list(prefix)
        return [(k, jsonio.dumps_str(v), r) for k, v, r in items], rev

    @abc.abstractmethod
    async def create(self, key: str, value: dict) -> int:
        """Store a new key; KeyExists if present. Returns the new revision."""

    @abc.abstractmethod
    async def update(self, key: str, value: dict, expected_rev: int | None = None) -> int:
        """Replace an existing key; RevisionConflict if expected_rev is given and differs."""

    @abc.abstractmethod
    async def delete(self, key: str, expected_rev: int | None = None) -> tuple[dict, int]:
        """Remove a key; returns (last value, revision of the delete)."""

    @abc.abstractmethod
    def watch(self, prefix: str, from_rev: int) -> Watch:
        """Events with revision > from_rev for keys under prefix; Expired if too old."""

    @property
    @abc.abstractmethod
    def revision(self) -> int:
        """The newest committed revision of the store."""

    @property
    @abc.abstractmethod
    def committed_revision(self) -> int:
        """Newest revision whose event has been delivered to watchers (for bookmarks)."""

    def end_watches(self) -> None:
        """End every open watch (clients re-watch elsewhere); used at shutdown."""

    @abc.abstractmethod
    async def healthy(self) -> bool: ...

    @abc.abstractmethod
    async def close(self) -> None: ...
