"""Garbage collector: delete objects whose owners are gone, and run foreground/orphan deletion.

Keeps a uid index of every watched object and an index owner-uid -> dependents. A work item
is "<resource>|<namespace/name>", meaning "look at this object":
- all its owners are gone (uid unknown, confirmed by a GET): delete it (background);
  some gone: drop just those ownerReferences;
- it is being deleted with the `foregroundDeletion` finalizer: delete its dependents, and
  remove the finalizer once no dependent with blockOwnerDeletion remains;
- it is being deleted with the `orphan` finalizer: strip its ownerReference from its
  dependents, then remove the finalizer.

Custom resources take part like built-in ones: for every CustomResourceDefinition the collector
starts an informer on the resource it serves (and stops it when the CRD goes), so a ConfigMap
owned by, say, a Greeting is collected once its Greeting is deleted.
"""
from __future__ import annotations

import asyncio

from labkube.api.resources import RESOURCES, Resource, crd_resources, resource
from labkube.client.errors import ApiError
from labkube.client.informer import object_key

from .base import Controller

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
SKIP = {"events", "componentstatuses"}
CRDS = "customresourcedefinitions"


def custom_resource(crd: dict, version: str | None = None) -> Resource | None:
    """The resource a CRD serves at `version` (default: its storage version); None if it serves none."""
    try:
        served = crd_resources(crd)
    except (KeyError, TypeError):
        return None
    stored = next((v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")), None)
    return next((r for r in served if r.version == version), None) or \
        next((r for r in served if r.version == stored), served[0] if served else None)


class GarbageCollector(Controller):
    name = "garbagecollector"

    def setup(self) -> None:
        self.infs = {}
        self.uids: dict[str, tuple[str, str]] = {}          # uid -> (resource, key)
        self.dependents: dict[str, set[tuple[str, str]]] = {}  # owner uid -> {(resource, key)}
        self._owners_of: dict[tuple[str, str], set[str]] = {}
        self.res: dict[str, Resource] = {}                  # graph name -> resource (client calls)
        for r in RESOURCES:
            if r.name in SKIP or "watch" not in r.verbs:
                continue
            self._track(r.name, r)
        self.infs[CRDS].add_handlers(self._watch_custom, lambda a, b: self._watch_custom(b),
                                     self._unwatch_custom)

    def _track(self, rn: str, r: Resource):
        inf = self.informer(r)
        self.infs[rn], self.res[rn] = inf, r
        inf.add_handlers(lambda o: self._upsert(rn, o), lambda a, b: self._updated(rn, a, b),
                         lambda o: self._removed(rn, o))
        return inf

    # -- custom resources: one informer per CRD ---------------------------------------------------

    def _watch_custom(self, crd: dict) -> None:
        r = custom_resource(crd)
        if r is None or crd["metadata"].get("deletionTimestamp"):
            return
        rn = f"{r.name}.{r.group}"
        if rn in self.infs:
            return
        if (r.name, None) in self.factory.informers:
            self.log.warning("not collecting on account of %s: its plural %r is taken", rn, r.name)
            return
        self._track(rn, r).start()

    def _unwatch_custom(self, crd: dict) -> None:
        r = custom_resource(crd)
        rn = f"{r.name}.{r.group}" if r is not None else None
        inf = self.infs.pop(rn, None)
        if inf is None:
            return
        self.factory.informers.pop((r.name, None), None)
        if inf in self.informers:
            self.informers.remove(inf)
        for obj in inf.items():
            self._removed(rn, obj)
        del self.res[rn]
        asyncio.get_running_loop().create_task(inf.stop())

    def _owner_resource(self, ref: dict) -> Resource | None:
        """The resource an ownerReference points at: built-in by kind, else from a CRD of its group."""
        group, _, version = ref.get("apiVersion", "").rpartition("/")
        try:
            r = resource(ref.get("kind", ""))
            if r.group == group and not r.custom:
                return r
        except KeyError:
            pass
        for crd in self.infs[CRDS].items():
            spec = crd.get("spec") or {}
            if spec.get("group") == group and (spec.get("names") or {}).get("kind") == ref.get("kind"):
                return custom_resource(crd, version)
        return None

    def event_component(self) -> str:
        return "garbage-collector-controller"

    # -- graph maintenance ---------------------------------------------------------------------

    def _item(self, rn: str, key: str) -> None:
        self.queue.add(f"{rn}|{key}")

    def _enqueue_owners_being_deleted(self, owner_uids) -> None:
        for uid in owner_uids:
            if uid in self.uids:
                rn, key = self.uids[uid]
                owner = self.infs[rn].get(key) if rn in self.infs else None
                if owner and owner["metadata"].get("deletionTimestamp"):
                    self._item(rn, key)

    def _updated(self, rn: str, old: dict, new: dict) -> None:
        """An update that leaves the uid, the ownerReferences, the finalizers and the deletion state
        as they were (a status write: most updates of most objects) changes nothing the collector
        looks at, as upstream's graph builder finds: its owners were looked at when it appeared or
        its references last changed, and an owner's removal queues its dependents."""
        om, nm = old["metadata"], new["metadata"]
        if (om.get("uid") == nm.get("uid") and om.get("ownerReferences") == nm.get("ownerReferences")
                and not om.get("deletionTimestamp") and not nm.get("deletionTimestamp")
                and om.get("finalizers") == nm.get("finalizers")):
            return
        self._upsert(rn, new)

    def _upsert(self, rn: str, obj: dict) -> None:
        md = obj["metadata"]
        key = object_key(obj)
        self.uids[md["uid"]] = (rn, key)
        new_owners = {r["uid"] for r in md.get("ownerReferences") or [] if r.get("uid")}
        old_owners = self._owners_of.get((rn, key), set())
        for uid in old_owners - new_owners:
            self._unlink(uid, (rn, key))
        for uid in new_owners:
            self.dependents.setdefault(uid, set()).add((rn, key))
        self._owners_of[(rn, key)] = new_owners
        if new_owners:
            self._item(rn, key)
        if md.get("deletionTimestamp") and {FOREGROUND, ORPHAN} & set(md.get("finalizers") or []):
            self._item(rn, key)
        self._enqueue_owners_being_deleted(old_owners | new_owners if md.get("deletionTimestamp")
                                           else old_owners - new_owners)

    def _unlink(self, owner_uid: str, dep: tuple[str, str]) -> None:
        deps = self.dependents.get(owner_uid)
        if deps is not None:
            deps.discard(dep)
            if not deps:
                del self.dependents[owner_uid]      # no leak of entries for long-gone owners

    def _removed(self, rn: str, obj: dict) -> None:
        md = obj["metadata"]
        key = object_key(obj)
        if self.uids.get(md["uid"]) == (rn, key):
            del self.uids[md["uid"]]
        owners = self._owners_of.pop((rn, key), set())
        for uid in owners:
            self._unlink(uid, (rn, key))
        for dep in list(self.dependents.get(md["uid"], ())):
            self._item(*dep)
        self._enqueue_owners_being_deleted(owners)

    # -- sync ------------------------------------------------------------------------------------

    async def sync(self, item: str) -> None:
        rn, key = item.split("|", 1)
        obj = self.infs[rn].get(key) if rn in self.infs else None
        if obj is None:
            return
        md = obj["metadata"]
        fins = md.get("finalizers") or []
        if md.get("deletionTimestamp") and FOREGROUND in fins:
            await self.delete_dependents_foreground(rn, obj)
        elif md.get("deletionTimestamp") and ORPHAN in fins:
            await self.orphan_dependents(rn, obj)
        if md.get("ownerReferences"):
            await self.check_owners(rn, obj)

    async def owner_exists(self, ref: dict, namespace: str | None) -> bool:
        if ref.get("uid") in self.uids:
            return True
        r = self._owner_resource(ref)
        if r is None:
            return True                     # a kind we do not serve: never collect on its account
        if r.namespaced and not namespace:
            return True                     # invalid cross-scope reference: leave it alone
        try:
            owner = await self.client.get(r, ref["name"], namespace=namespace if r.namespaced else None)
        except ApiError as e:
            if e.code == 404:
                return False
            raise
        return owner["metadata"].get("uid") == ref.get("uid")

    async def check_owners(self, rn: str, obj: dict) -> None:
        md = obj["metadata"]
        refs = md.get("ownerReferences") or []
        absent = [ref for ref in refs if not await self.owner_exists(ref, md.get("namespace"))]
        if not absent:
            return
        try:
            if len(absent) == len(refs):
                if md.get("deletionTimestamp"):
                    return
                self.log.info("deleting %s %s: owner %s %s is gone", rn, object_key(obj),
                              absent[0].get("kind"), absent[0].get("name"))
                await self.client.delete(self.res[rn], md["name"], namespace=md.get("namespace"),
                                         propagation_policy="Background", preconditions={"uid": md["uid"]})
            else:
                gone = {r.get("uid") for r in absent}
                await self.client.patch(self.res[rn], md["name"], {"metadata": {"ownerReferences": [
                    r for r in refs if r.get("uid") not in gone]}}, namespace=md.get("namespace"))
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    def _dependents(self, obj: dict) -> list[tuple[str, dict]]:
        out = []
        for rn, key in sorted(self.dependents.get(obj["metadata"]["uid"], ())):
            dep = self.infs[rn].get(key) if rn in self.infs else None
            if dep is not None:
                out.append((rn, dep))
        return out

    async def delete_dependents_foreground(self, rn: str, owner: dict) -> None:
        uid = owner["metadata"]["uid"]
        blocking = 0
        for drn, dep in self._dependents(owner):
            ref = next((r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if dep["metadata"].get("deletionTimestamp"):
                continue
            policy = "Foreground" if self.dependents.get(dep["metadata"]["uid"]) else "Background"
            try:
                await self.client.delete(self.res[drn], dep["metadata"]["name"],
                                         namespace=dep["metadata"].get("namespace"), propagation_policy=policy, preconditions={"uid": dep["metadata"]["uid"]})
            except ApiError as e:
                if e.code not in (404, 409):
                    raise
        if blocking == 0:
            await self._remove_finalizer(rn, owner, FOREGROUND)

    async def orphan_dependents(self, rn: str, owner: dict) -> None:
        uid = owner["metadata"]["uid"]
        for drn, dep in self._dependents(owner):
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            try:
                await self.client.patch(self.res[drn], dep["metadata"]["name"], {"metadata": {"ownerReferences": refs}},
                                        namespace=dep["metadata"].get("namespace"))
            except ApiError as e:
                if e.code != 404:
                    raise
        await self._remove_finalizer(rn, owner, ORPHAN)

    async def _remove_finalizer(self, rn: str, obj: dict, fin: str) -> None:
        md = obj["metadata"]
        try:
            cur = await self.client.get(self.res[rn], md["name"], namespace=md.get("namespace"))
        except ApiError as e:
            if e.code == 404:
                return
            raise
        fins = cur["metadata"].get("finalizers") or []
        if fin not in fins:
            return
        await self.client.patch(self.res[rn], md["name"], {"metadata": {
            "finalizers": [f for f in fins if f != fin], "resourceVersion": cur["metadata"]["resourceVersion"]}},
            namespace=md.get("namespace"))
