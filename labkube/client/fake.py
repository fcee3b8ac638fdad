"""FakeApi: an in-memory stand-in for the apiserver with the same async methods as Client.

For unit tests of controllers, the scheduler and the kubelet: no sockets, no sleeps. It keeps
a cluster-wide resourceVersion, uids, generation (bumped on spec changes), status
subresources, finalizers and deletionTimestamp, graceful deletion of bound pods, namespace
finalization, pod binding, and watches (resume from a resourceVersion; 410 once compacted).
Tests may add `reactors` (callables (verb, resource, namespace, name, body) that raise to
inject failures) and read `actions` (what was called).
"""
from __future__ import annotations

import asyncio
import copy
import random
import string
import uuid

from labkube.api.errors import ApiError as ServerError
from labkube.api.patch import apply_patch

from .clock import Clock
from .errors import status_error
from .fake_watch import FakeWatches
from .rest import PATCH_TYPES, as_resource, fill_kind


def _rand(n: int = 5) -> str:
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class FakeApi(FakeWatches):
    def __init__(self, clock: Clock | None = None,
                 namespaces=("default", "kube-system", "kube-public", "kube-node-lease")):
        self.clock = clock or Clock()
        self.rv = 0
        self.objects: dict[tuple[str, str, str], dict] = {}     # (resource, ns, name) -> obj
        self.history: list[tuple[int, str, dict]] = []          # (rv, resource, event)
        self.compacted_rv = 0
        self.watchers: list[tuple[str, str | None, str | None, str | None, asyncio.Queue]] = []
        self.skipped_lines = 0          # watch lines a decode_line predicate dropped (tests)
        self.actions: list[tuple[str, str, str | None, str | None]] = []
        self.reactors: list = []
        self.pod_logs: dict[tuple[str, str], str] = {}
        for ns in namespaces:
            self._store("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                        None)

    # -- helpers for tests ---------------------------------------------------------------

    def all(self, res, namespace: str | None = None) -> list[dict]:
        r = as_resource(res)
        return [copy.deepcopy(o) for (rn, ns, _), o in sorted(self.objects.items())
                if rn == r.name and (namespace is None or ns == namespace)]

    # -- internals --------------------------------------------------------------------------

    def _act(self, verb, r, ns, name, body=None):
        self.actions.append((verb, r.name, ns, name))
        for fn in list(self.reactors):
            fn(verb, r.name, ns, name, body)

    def _key(self, r, ns, name):
        return (r.name, ns if r.namespaced else "", name)

    def _bump(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _store(self, rname, obj, ns):
        r = as_resource(rname)
        md = obj.setdefault("metadata", {})
        if r.namespaced:
            md["namespace"] = ns
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", self.clock.now_str())
        md["generation"] = 1
        obj.setdefault("kind", r.kind)
        obj.setdefault("apiVersion", r.api_version)
        if r.name == "pods":
            obj.setdefault("spec", {}).setdefault("schedulerName", "default-scheduler")
            obj.setdefault("status", {}).setdefault("phase", "Pending")
        if r.name == "namespaces":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {})["phase"] = "Active"
        self._bump(obj)
        self.objects[self._key(r, ns, md["name"])] = obj
        self._emit(r.name, "ADDED", obj)
        return copy.deepcopy(obj)

    def _get(self, r, name, ns):
        obj = self.objects.get(self._key(r, ns, name))
        if obj is None:
            raise status_error(404, "NotFound", f'{r.name} "{name}" not found')
        return obj

    def _remove(self, r, obj):
        md = obj["metadata"]
        del self.objects[self._key(r, md.get("namespace"), md["name"])]
        self._bump(obj)
        self._emit(r.name, "DELETED", obj)
        return copy.deepcopy(obj)

    def _finish_if_done(self, r, obj):
        md = obj["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            if r.name != "namespaces" or not obj.get("spec", {}).get("finalizers"):
                return self._remove(r, obj)
        return None

    # -- the Client interface ---------------------------------------------------------------

    async def get(self, res, name, namespace=None):
        r = as_resource(res)
        self._act("get", r, namespace, name)
        return copy.deepcopy(self._get(r, name, namespace))

    async def list_raw(self, res, namespace=None, label_selector=None, field_selector=None,
                       resource_version=None):
        r = as_resource(res)
        self._act("list", r, namespace, None)
        items = [copy.deepcopy(o) for (rn, ns, _), o in sorted(self.objects.items())
                 if self._wants(r.name, namespace, label_selector, field_selector, rn, o)]
        return {"kind": r.kind + "List", "apiVersion": r.api_version,
                "metadata": {"resourceVersion": str(self.rv)}, "items": fill_kind(items, r)}

    async def list(self, res, namespace=None, label_selector=None, field_selector=None):
        return (await self.list_raw(res, namespace, label_selector, field_selector))["items"]

    async def create(self, res, obj, namespace=None):
        r = as_resource(res)
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        ns = (namespace or md.get("namespace") or "default") if r.namespaced else None
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + _rand()
        self._act("create", r, ns, md.get("name"), obj)
        if not md.get("name"):
            raise status_error(422, "Invalid", f"{r.kind} is invalid: metadata.name: Required value")
        if r.namespaced:
            nso = self.objects.get(("namespaces", "", ns))
            if nso is None:
                raise status_error(404, "NotFound", f'namespaces "{ns}" not found')
            if nso["metadata"].get("deletionTimestamp"):
                raise status_error(403, "Forbidden", f"unable to create new content in namespace {ns} "
                                                     "because it is being terminated")
        if self._key(r, ns, md["name"]) in self.objects:
            raise status_error(409, "AlreadyExists", f'{r.name} "{md["name"]}" already exists')
        for k in ("resourceVersion", "uid", "deletionTimestamp"):
            md.pop(k, None)
        return self._store(r.name, obj, ns)

    async def replace(self, res, name, obj, namespace=None, subresource=None, _check_rv=True):
        r = as_resource(res)
        ns = (namespace or obj.get("metadata", {}).get("namespace")) if r.namespaced else None
        self._act("update" if not subresource else f"update/{subresource}", r, ns, name, obj)
        cur = self._get(r, name, ns)
        new = copy.deepcopy(obj)
        nmd = new.setdefault("metadata", {})
        rv = nmd.get("resourceVersion")
        if _check_rv and rv and rv != cur["metadata"]["resourceVersion"]:
            raise status_error(409, "Conflict", f'Operation cannot be fulfilled on {r.name} "{name}": '
                                                "the object has been modified; please apply your "
                                                "changes to the latest version and try again")
        if subresource == "status":
            out = copy.deepcopy(cur)
            out["status"] = new.get("status", {})
        elif subresource == "finalize":
            out = copy.deepcopy(cur)
            out.setdefault("spec", {})["finalizers"] = new.get("spec", {}).get("finalizers", [])
        else:
            out = new
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "namespace", "name"):
                if k in cur["metadata"]:
                    nmd[k] = cur["metadata"][k]
                else:
                    nmd.pop(k, None)
            if "status" in r.subresources and "status" in cur:
                out["status"] = copy.deepcopy(cur["status"])
            if out.get("spec") != cur.get("spec"):
                nmd["generation"] = cur["metadata"].get("generation", 1) + 1
            out.setdefault("kind", r.kind)
            out.setdefault("apiVersion", r.api_version)
        self.objects[self._key(r, ns, name)] = out
        done = self._finish_if_done(r, out)
        if done is not None:
            return done
        self._bump(out)
        self._emit(r.name, "MODIFIED", out)
        return copy.deepcopy(out)

    async def patch(self, res, name, patch, namespace=None, patch_type="merge", subresource=None, reply=True):
        r = as_resource(res)
        cur = copy.deepcopy(self._get(r, name, namespace))
        try:     # the apiserver's own patch code, so the fake patches as the server does
            new = apply_patch(PATCH_TYPES[patch_type], cur, patch)
        except ServerError as e:
            raise status_error(e.code, e.reason, e.message) from e
        # a resourceVersion inside a merge patch is a precondition, as on the real apiserver
        want_rv = ((patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None)
        out = await self.replace(r, name, new, namespace, subresource, _check_rv=bool(want_rv))
        return out if reply else None

    async def delete(self, res, name, namespace=None, grace_period_seconds=None,
                     propagation_policy=None, preconditions=None):
        r = as_resource(res)
        self._act("delete", r, namespace, name, {"gracePeriodSeconds": grace_period_seconds,
                                                 "propagationPolicy": propagation_policy})
        obj = self._get(r, name, namespace)
        md = obj["metadata"]
        if preconditions and preconditions.get("uid") and preconditions["uid"] != md.get("uid"):
            raise status_error(409, "Conflict", "Precondition failed: UID in precondition does not match")
        fin = list(md.get("finalizers") or [])
        if propagation_policy == "Foreground" and "foregroundDeletion" not in fin:
            fin.append("foregroundDeletion")
        if propagation_policy == "Orphan" and "orphan" not in fin:
            fin.append("orphan")
        if fin:
            md["finalizers"] = fin
        if r.name == "pods":
            bound = obj.get("spec", {}).get("nodeName")
            terminal = obj.get("status", {}).get("phase") in ("Succeeded", "Failed")
            grace = grace_period_seconds
            if grace is None:
                grace = md.get("deletionGracePeriodSeconds",
                               obj.get("spec", {}).get("terminationGracePeriodSeconds", 30))
            if bound and not terminal and grace > 0:
                md.setdefault("deletionTimestamp", self.clock.now_str())
                md["deletionGracePeriodSeconds"] = grace
                self._bump(obj)
                self._emit(r.name, "MODIFIED", obj)
                return copy.deepcopy(obj)
        if fin or r.name == "namespaces":
            if r.name == "namespaces":
                obj.setdefault("status", {})["phase"] = "Terminating"
            if not md.get("deletionTimestamp"):
                md["deletionTimestamp"] = self.clock.now_str()
                md["deletionGracePeriodSeconds"] = 0
            done = self._finish_if_done(r, obj)
            if done is not None:
                return done
            self._bump(obj)
            self._emit(r.name, "MODIFIED", obj)
            return copy.deepcopy(obj)
        return self._remove(r, obj)

    async def delete_collection(self, res, namespace=None, label_selector=None, field_selector=None,
                                grace_period_seconds=None, propagation_policy=None):
        out = []
        for o in await self.list(res, namespace, label_selector, field_selector):
            md = o["metadata"]
            try:
                out.append(await self.delete(res, md["name"], md.get("namespace"), grace_period_seconds,
                                             propagation_policy))
            except Exception as e:  # noqa: BLE001 - gone meanwhile
                if getattr(e, "code", None) != 404:
                    raise
        return out

    async def post_subresource(self, res, name, sub, body, namespace=None):
        r = as_resource(res)
        self._act(f"create/{sub}", r, namespace, name, body)
        obj = self._get(r, name, namespace)
        if r.name == "pods" and sub == "binding":
            if obj["spec"].get("nodeName"):
                raise status_error(409, "Conflict", f'pod {name} is already assigned to node '
                                                    f'"{obj["spec"]["nodeName"]}"')
            obj["spec"]["nodeName"] = body["target"]["name"]
            self._bump(obj)
            self._emit(r.name, "MODIFIED", obj)
            return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}
        if r.name == "pods" and sub == "eviction":
            await self.delete(r, name, namespace)
            return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}
        raise status_error(404, "NotFound", f"subresource {sub} not supported by the fake")

    async def logs(self, name, namespace, container=None, follow=False, **kw):
        r = as_resource("pods")
        self._act("get/log", r, namespace, name)
        self._get(r, name, namespace)
        return self.pod_logs.get((namespace, name), "")

    async def close(self):
        self.close_watches()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
