"""Reads of the registry: get, list with selectors and paging, and unfiltered raw lists."""
from __future__ import annotations

import base64
import json

from ..api import errors
from ..api.resources import Resource
from ..api.selectors import FieldSelector, LabelSelector
from ..storage import KeyNotFound, Storage
from .storekeys import as_version, key, prefix, with_rv


def _start_key(cont: str | None) -> str:
    if not cont:
        return ""
    try:
        return json.loads(base64.urlsafe_b64decode(cont.encode()).decode())["start"]
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("continue key is not valid") from None


def _token(last_key: str, rev: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"start": last_key, "rv": rev}).encode()).decode()


class Reader:
    storage: Storage

    async def get(self, res: Resource, ns: str | None, name: str, latest: bool = False) -> dict:
        """The object as committed (latest=True: including accepted, uncommitted writes)."""
        try:
            obj, rev = await self.storage.get(key(res, ns, name), latest)
        except KeyNotFound:
            raise errors.not_found(res.name, name, res.group) from None
        return as_version(res, with_rv(obj, rev))

    async def get_raw(self, res: Resource, ns: str | None, name: str) -> str:
        """The committed object as its stored JSON text (built-in resources; it carries its
        resourceVersion), without decoding and re-encoding it."""
        try:
            text, _rev = await self.storage.get_raw(key(res, ns, name))
        except KeyNotFound:
            raise errors.not_found(res.name, name, res.group) from None
        return text

    async def list(self, res: Resource, ns: str | None, label: str | None = None, field: str | None = None,
                   limit: int = 0, cont: str | None = None, latest: bool = False) -> tuple[list[dict], str, str]:
        """(objects, list resourceVersion, continue token) matching the selectors."""
        ls, fs = LabelSelector.parse(label), FieldSelector.parse(field)
        start = _start_key(cont)
        items, rev = await self.storage.list(prefix(res, ns), latest)
        out, token, last = [], "", ""
        for k, obj, r in items:
            if start and k <= start:
                continue
            if not ls.matches((obj.get("metadata") or {}).get("labels")) or not fs.matches(obj):
                continue
            if limit and len(out) >= limit:
                token = _token(last, rev)
                break
            out.append(as_version(res, with_rv(obj, r)))
            last = k
        return out, str(rev), token

    async def list_raw(self, res: Resource, ns: str | None, limit: int = 0,
                       cont: str | None = None) -> tuple[list[str], str, str]:
        """Unfiltered list as stored JSON texts (which carry their resourceVersion)."""
        start = _start_key(cont)
        items, rev = await self.storage.list_raw(prefix(res, ns))
        if start:
            items = [i for i in items if i[0] > start]
        token = ""
        if limit and len(items) > limit:
            items = items[:limit]
            token = _token(items[-1][0], rev)
        return [text for _, text, _ in items], str(rev), token
