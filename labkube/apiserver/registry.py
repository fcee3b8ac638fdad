"""The object registry: CRUD over storage with defaults, validation, preconditions, dry-run.

This is the apiserver's logic independent of HTTP (reads in `reading.py`, keys in
`storekeys.py`); `metadata.resourceVersion` is the storage revision of the object.
"""
from __future__ import annotations

import contextlib
import copy

from .. import jsonio
from ..api import errors
from ..api import managedfields, versions
from ..api.managedfields import APPLY, Manager
from ..api.memo import clone, same_json
from ..api.resources import Resource, resource
from ..api.shape import shape_error
from ..api.strategy import INTERNAL, TRUSTED, has_status_subresource, prepare_create, prepare_update, same_but_rv
from ..api.validation import validate
from ..storage import KeyExists, KeyNotFound, RevisionConflict, Storage
from .allocator import ServiceAllocator, carry_over
from .reading import Reader
from .storekeys import as_version, key, prefix, with_rv

__all__ = ["Registry", "as_version", "key", "prefix", "with_rv"]  # keys re-exported for the other modules

NAMESPACES = resource("namespaces")


def _check_shape(res: Resource, obj, spec_kept: bool = False, meta_kept: bool = False) -> None:
    err = shape_error("" if res.custom else res.name, obj, spec_kept, meta_kept)
    if err:
        raise errors.bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: {err}')


_MALFORMED = (TypeError, AttributeError, ValueError, KeyError, IndexError)


class _malformed:
    """The safety net under shape checks: a body that still trips defaulting or validation is a 400.
    (A class: the generator-based context manager it was cost ~1.5 us per write.)"""
    __slots__ = ("res",)

    def __init__(self, res: Resource):
        self.res = res

    def __enter__(self) -> None:
        return None

    def __exit__(self, tp, e, tb) -> bool:
        if tp is not None and issubclass(tp, _MALFORMED):
            res = self.res
            raise errors.bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                                     f"malformed object: {type(e).__name__}: {e}") from None
        return False


def _status_base(cur: dict, new: dict, handed: dict, text: str, pure: bool = False) -> dict:
    """The stored object as a status write's prepare_update takes it (its own copy: the result is built
    on it, status replaced), without a third parse of the stored text: a member the mutation left as
    it was handed (the same object, still the same JSON as stored: a merge or strategic merge patch of
    status leaves spec and metadata so) is taken from its result, any other member is copied from the
    stored object. The status itself is prepare_update's to set (None until then). When no member is
    left as handed (a PUT of status hands back a new object), the stored text is parsed as before.
    pure: the mutation changed nothing it was handed in place (apply_patch builds its result anew),
    so a member it returns as handed is as stored without comparing its JSON with the stored one's."""
    kept = [k for k, v in cur.items() if k != "status" and new.get(k) is not None
            and new.get(k) is handed.get(k) and (pure or same_json(new[k], v))]
    if not kept:
        return jsonio.loads(text)
    out = {}
    for k, v in cur.items():
        out[k] = None if k == "status" else new[k] if k in kept else clone(v)
    return out


def _over(cur: dict) -> dict:
    """What a pure status write's mutation is handed instead of a second parse of the stored text: the
    stored object `cur` with its own top-level dict, metadata and status dicts (what the write sets
    in place later: name, namespace, managedFields, resourceVersion; phase and qosClass), the other
    members shared with `cur`. The mutation (apply_patch) changes nothing it is handed; the spec it
    leaves is taken by _status_base as kept, and only pod defaulting writes into it (values a stored
    spec already has: an unchanged write is told against a fresh parse of the stored text)."""
    out = dict(cur)
    for k in ("metadata", "status"):
        if type(out.get(k)) is dict:
            out[k] = dict(out[k])
    return out


def _meta_kept(shared: bool, new: dict, handed: dict | None) -> bool:
    """Whether a status write's result carries the stored metadata as its mutation was handed it:
    only for a pure write of a built-in kind on one parse (shared: _over gave it its own metadata
    dict, which a pure mutation returns unchanged when it returns that very dict)."""
    return shared and type(new.get("metadata")) is dict and new["metadata"] is handed.get("metadata")


class Registry(Reader):
    def __init__(self, storage: Storage, allocator: ServiceAllocator):
        self.storage = storage
        self.alloc = allocator
        self.admit = None  # async (registry, resource, obj) -> None, run on create before storing
        self.after_write = None  # async (registry, resource, obj, deleted) -> None, run after each stored change
        self.create_guard = None  # async (registry, resource, namespace) -> async context held over admit + store
        self.write_check = None  # (resource, new, old or None) -> None or raise; before a create or update is stored
        self._ns_terminating: dict[str, tuple[str, bool]] = {}  # namespace -> (its stored text, terminating)

    # -- create ------------------------------------------------------------------
    async def check_namespace(self, res: Resource, ns: str | None, name: str) -> None:
        if not res.namespaced:
            return
        try:
            text, _ = await self.storage.get_raw(key(NAMESPACES, None, ns), latest=True)
        except KeyNotFound:
            self._ns_terminating.pop(ns, None)
            raise errors.not_found("namespaces", ns) from None
        seen = self._ns_terminating.get(ns)
        if seen is None or seen[0] is not text:  # decoded again only when the namespace changed
            nso = jsonio.loads(text)
            seen = (text, bool((nso.get("metadata") or {}).get("deletionTimestamp")
                               or (nso.get("status") or {}).get("phase") == "Terminating"))
            self._ns_terminating[ns] = seen
        if seen[1]:
            raise errors.forbidden(f'{res.name} "{name}" is forbidden: unable to create new content in namespace '
                                   f"{ns} because it is being terminated", res.name, name)

    async def create(self, res: Resource, ns: str | None, obj: dict, dry_run: bool = False,
                     manager: Manager | None = None) -> dict:
        """POST; manager (when given) owns the created fields (for Apply: only the applied ones)."""
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        if res.converted:  # stored in another version: convert there and back (labkube.api.versions)
            return versions.to_served(res, await self.create(versions.stored(res), ns, versions.to_stored(res, obj),
                                                             dry_run, manager))
        applied = copy.deepcopy(obj) if manager is not None and manager.operation == APPLY else None
        body_ns = (obj.get("metadata") or {}).get("namespace") if isinstance(obj.get("metadata"), dict) else None
        if res.namespaced and ns and body_ns and body_ns != ns:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        _check_shape(res, obj)
        with _malformed(res):
            obj = prepare_create(res, obj, ns)
            name = obj["metadata"].get("name") or ""
            errs = validate(res, obj)
        if errs:
            raise errors.invalid(res.kind, name, errs, res.group)
        if manager is not None:
            obj["metadata"]["managedFields"] = managedfields.created(obj, manager, res.api_version,
                                                                     has_status_subresource(res), applied)
        ns = obj["metadata"].get("namespace")
        await self.check_namespace(res, ns, name)
        guard = await self.create_guard(self, res, ns) if self.create_guard else contextlib.nullcontext()
        async with guard:  # e.g. quota admission: one create at a time in a namespace with quotas
            return await self._admit_and_store(res, obj, name, dry_run)

    async def _admit_and_store(self, res: Resource, obj: dict, name: str, dry_run: bool) -> dict:
        if self.admit is not None:
            await self.admit(self, res, obj)
        if self.write_check is not None:
            self.write_check(res, obj, None)
        k = key(res, obj["metadata"].get("namespace"), name)
        if res.name == "services":
            if await self._exists(k):
                raise errors.already_exists(res.name, name, res.group)
            change = self.alloc.allocate(obj, name)   # a dry run shows (and checks) what it would get
            if dry_run:
                change.rollback()
                return obj
        if dry_run:
            if await self._exists(k):
                raise errors.already_exists(res.name, name, res.group)
            return obj
        try:
            rev = await self.storage.create(k, obj)
        except BaseException as e:
            if res.name == "services":
                change.rollback()
            if isinstance(e, KeyExists):
                raise errors.already_exists(res.name, name, res.group) from None
            raise
        await self.written(res, obj, False)
        return with_rv(obj, rev)

    async def written(self, res: Resource, obj: dict, deleted: bool) -> None:
        if self.after_write is not None:
            await self.after_write(self, res, obj, deleted)

    async def _exists(self, k: str) -> bool:
        try:
            await self.storage.get(k, True)
            return True
        except KeyNotFound:
            return False

    # -- update --------------------------------------------------------------------
    async def update(self, res: Resource, ns: str | None, name: str, obj: dict, sub: str | None = None,
                     dry_run: bool = False, manager: Manager | None = None) -> dict:
        """PUT: replace (or replace status); 409 when metadata.resourceVersion is stale."""
        return (await self.update_stored(res, ns, name, obj, sub, dry_run, manager))[0]

    async def update_stored(self, res: Resource, ns: str | None, name: str, obj: dict, sub: str | None = None,
                            dry_run: bool = False, manager: Manager | None = None) -> tuple[dict, str | None]:
        """update, with the JSON text it stored (as guaranteed_update_stored)."""
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(f'the name of the object ({md["name"]}) does not match the name on the URL ({name})')
        want = md.get("resourceVersion")
        return await self.guaranteed_update_stored(res, ns, name, lambda cur: clone(obj), sub, dry_run,
                                                   precondition=str(want) if want else None, manager=manager)

    async def guaranteed_update(self, res: Resource, ns: str | None, name: str, mutate, sub: str | None = None,
                                dry_run: bool = False, precondition: str | None = None,
                                manager: Manager | None = None, changes: bool = False, pure: bool = False) -> dict:
        """Read, mutate(current) -> new, store with a revision precondition; retry on races.

        manager: who writes, for managedFields. An Update manager owns what it changed; for an
        Apply manager, mutate is `managedfields.apply` and has set them already.
        mutate and prepare_update each get their own parse of the stored text (several times
        cheaper than deep copies of the current object); prepare_update reads no old state for
        the INTERNAL subresources, which get two parses: the one mutated and the stored object
        to tell an unchanged write by. changes: the mutation changes the object whenever it
        returns (a binding sets the pod's unset nodeName), so there is no unchanged write to tell;
        an INTERNAL subresource's write then parses the stored text once (ignored for the others,
        whose validation and managedFields read the stored object). pure: the mutation changes
        nothing it is handed in place (it builds its result anew, as apply_patch does), so what it
        returns as handed is as stored (a status write's base then takes it unchecked: _status_base)."""
        return (await self.guaranteed_update_stored(res, ns, name, mutate, sub, dry_run, precondition, manager,
                                                    changes, pure, text_wanted=False))[0]

    async def guaranteed_update_stored(self, res: Resource, ns: str | None, name: str, mutate, sub: str | None = None,
                                       dry_run: bool = False, precondition: str | None = None,
                                       manager: Manager | None = None, changes: bool = False, pure: bool = False,
                                       text_wanted: bool = True) -> tuple[dict, str | None]:
        """guaranteed_update, with the JSON text the write stored: the object's own JSON (its
        resourceVersion included), so a reply can be that text instead of the object encoded again
        (the same bytes). None when the call stored nothing (a dry run, a write that changes
        nothing: its result may differ from the stored object in key order or number types, a
        finished object's deletion), for a converted resource, when the store cannot hand its
        text back without I/O, or when it was already overwritten. text_wanted False: the caller
        drops the text (guaranteed_update, whose bindings reply with a Status): None, not looked up."""
        if res.converted:  # the mutation sees and makes res's version; storage the stored one
            def in_version(cur: dict, served=mutate) -> dict:
                return versions.to_stored(res, served(versions.to_served(res, cur)))
            # (not pure: the conversions are not said to leave what they are handed as it was)
            return versions.to_served(res, await self.guaranteed_update(versions.stored(res), ns, name, in_version, sub,
                                                                        dry_run, precondition, manager, changes)), None
        k = key(res, ns, name)
        for _ in range(20):
            try:
                text, rev = await self.storage.get_raw(k, True)
            except KeyNotFound:
                raise errors.not_found(res.name, name, res.group) from None
            # prepare_update leaves out the old state of the subresources whose handlers build the
            # whole object (binding, finalize, ephemeralcontainers): one parse fewer for them; a
            # status write's old state is built from the mutation's result (_status_base); the store
            # decodes the text it read (Storage.parse: the store's own text without the digit check)
            handed, shared = None, False
            parse = self.storage.parse
            if changes and sub in INTERNAL:
                cur, mutable, old = None, parse(k, text)[0], None
            elif sub == "status" and pure and not res.custom:
                # a status patch (apply_patch builds its result anew): one parse, see _over
                cur, old = parse(k, text)[0], None
                mutable, shared = _over(cur), True
                handed = dict(mutable)
            elif sub in INTERNAL or sub == "status":
                cur, mutable = parse(k, text, 2)
                old = None
                if sub == "status":
                    handed = dict(mutable)
            else:
                cur, mutable, old = parse(k, text, 3)
            if precondition is not None and precondition != str(rev):
                raise errors.conflict(res.name, name, "the object has been modified; please apply your changes "
                                      "to the latest version and try again", res.group)
            new = mutate(with_rv(mutable, rev))
            if not isinstance(new, dict):
                raise errors.bad_request("the body of the request must be a JSON object")
            new.setdefault("metadata", {})
            if not isinstance(new["metadata"], dict):
                raise errors.bad_request("metadata must be an object")
            new["metadata"].setdefault("name", name)
            if res.namespaced:
                new["metadata"].setdefault("namespace", ns)
            trusted = sub in TRUSTED
            # a status write that left the spec as stored (a kubelet's status patch): its spec is
            # neither type-checked nor validated again (C-level equality instead of the walks)
            spec_kept = sub == "status" and not res.custom and "spec" in cur and new.get("spec") == cur["spec"]
            # a pure status write (one parse, _over) whose mutation handed the metadata back as it got
            # it: the stored metadata (as the spec above), which the write that stored it type-checked
            # and validated, and which prepare_update keeps: not checked again (meta_kept)
            meta_kept = _meta_kept(shared, new, handed)
            if not trusted:
                _check_shape(res, new, spec_kept, meta_kept)
            # Apply: managedfields.apply computed them; Update: a list the client set replaces the
            # stored one as the base (kubectl's client-side to server-side apply migration, or [{}] to reset)
            sent_fields = new["metadata"].get("managedFields") if manager else None
            with _malformed(res):
                if old is not None:
                    base = with_rv(old, rev)
                elif handed is not None:
                    base = with_rv(_status_base(cur, new, handed, text, pure), rev)
                else:
                    base = cur
                new = prepare_update(res, new, base, sub)
                if res.name == "services" and sub is None:
                    carry_over(new, cur)
                errs = [] if trusted else validate(res, new, None if sub in INTERNAL else cur, spec_kept, meta_kept)
            if errs:
                raise errors.invalid(res.kind, name, errs, res.group)
            if self.write_check is not None and sub is None:
                self.write_check(res, new, cur)
            if manager is not None and sub not in INTERNAL:
                base = cur
                if manager.operation != APPLY and isinstance(sent_fields, list) and sent_fields and \
                        sent_fields != (cur.get("metadata") or {}).get("managedFields"):
                    base = dict(cur, metadata=dict(cur.get("metadata") or {}, managedFields=sent_fields))
                mf = sent_fields if manager.operation == APPLY else managedfields.updated(
                    base, new, manager, res.api_version, has_status_subresource(res))
                if mf:
                    new["metadata"]["managedFields"] = mf
                else:
                    new["metadata"].pop("managedFields", None)
            new["metadata"].pop("resourceVersion", None)
            # a Service update goes through the allocators: 422 on a taken port or address, else
            # what it adds is reserved now and what it drops is released once stored
            change = self.alloc.update(new, cur, name) if res.name == "services" and sub is None else None
            if dry_run or (cur is not None and same_but_rv(new, cur)
                           and (not shared or same_but_rv(new, parse(k, text)[0]))):
                if change:
                    change.rollback()
                return with_rv(new, rev), None
            if self._finished(res, new):
                if change:
                    change.rollback()
                try:
                    last, drev = await self.storage.delete(k, expected_rev=rev)
                except RevisionConflict:
                    continue
                self._released(res, last)
                await self.written(res, last, True)
                return with_rv(new, drev), None
            try:
                nrev = await self.storage.update(k, new, expected_rev=rev)
            except BaseException as e:
                if change:
                    change.rollback()
                if isinstance(e, RevisionConflict):
                    if precondition is not None:
                        raise errors.conflict(res.name, name, "the object has been modified; please apply your "
                                              "changes to the latest version and try again", res.group) from None
                    continue
                if isinstance(e, KeyNotFound):
                    raise errors.not_found(res.name, name, res.group) from None
                raise
            if change:
                change.commit()
            text = self._stored_text(k, new, nrev) if text_wanted else None
            await self.written(res, new, False)
            out = with_rv(new, nrev)
            if sub == "binding" and changes:
                # a pod's binding: its one caller (subresources.bind_pod) drops the result, which was
                # built from a decode of the stored text (or an object handed over for it) and the
                # binding's own new values: the store may give it to the pod's next write (its status
                # write, a moment later) instead of a decode of the text it stored
                self.storage.hand_over(k, out, nrev)
            return out, text
        raise errors.conflict(res.name, name, "too many concurrent updates", res.group)

    def _stored_text(self, k: str, new: dict, rev: int) -> str | None:
        """The text stored at k for `new` at revision rev: what the store's index holds when that is
        still revision rev and the store stamped rev into `new` as it stored it (so with_rv(new, rev)
        changes nothing and the text is its JSON); else None."""
        hit = self.storage.get_raw_nowait(k)
        if hit is None or hit[1] != rev or new["metadata"].get("resourceVersion") != str(rev):
            return None
        return hit[0]

    @staticmethod
    def _finished(res: Resource, obj: dict) -> bool:
        """An object being deleted whose last finalizer is gone is removed by the update."""
        md = obj.get("metadata") or {}
        if not md.get("deletionTimestamp") or md.get("finalizers"):
            return False
        if res.name == "pods":
            return md.get("deletionGracePeriodSeconds") == 0
        if res.name == "namespaces":
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    def _released(self, res: Resource, obj: dict) -> None:
        if res.name == "services":
            self.alloc.release(obj)
