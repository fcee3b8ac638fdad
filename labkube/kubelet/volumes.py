"""Pod volumes on the node: emptyDir, hostPath, configMap, secret, downwardAPI, projected
(configMap/secret/downwardAPI/serviceAccountToken sources, tokens from satoken.py) and persistentVolumeClaim (a Bound claim whose
PersistentVolume is a hostPath or local volume, mounted like a hostPath).

`prepare_volumes` returns {volume name: host path}; `container_mounts` turns a
container's volumeMounts into the runtime's mount list (read-only for a claim volume with
readOnly, see `read_only_volumes`). `refresh_volumes` rewrites the
file volumes (configMap, secret, downwardAPI, projected) from the current objects: changed
files are replaced atomically (write + rename inside the bind-mounted directory, so running
containers see the new content; subPath mounts, as in Kubernetes, do not), removed keys
disappear.
"""
from __future__ import annotations

import base64
import os
import shutil

from .quantity import bytes_
from .satoken import TOKENS, token_key
from .runtime.overlay import mount_tmpfs, unmount


class VolumeError(Exception):
    pass


class VolumeNotReady(VolumeError):
    """The volume cannot be set up yet (its claim is not bound): the pod waits and retries."""


# the kinds a fetch function serves besides configmaps/secrets; claims are asked for as
# "<namespace>/<name>", volumes (cluster-wide) by name
CLAIMS, PVS = "persistentvolumeclaims", "persistentvolumes"
PV_SOURCES = ("hostPath", "local")
PV_NOT_SOURCES = ("capacity", "claimRef", "nodeAffinity")      # the other object fields of a PV spec


def volume_dir(pod_dir: str, kind: str, name: str) -> str:
    return os.path.join(pod_dir, "volumes", f"kubernetes.io~{kind}", name)


def _item_files(data: dict, items: list | None) -> dict:
    """{relative path: bytes} of the keys selected by ``items`` (all keys when None)."""
    wanted = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in data}
    out = {}
    for key, rel in wanted.items():
        if key in data:
            val = data[key]
            out[rel] = val if isinstance(val, bytes) else str(val).encode()
    return out


def sync_files(path: str, files: dict, mode: int) -> bool:
    """Make the regular files under ``path`` exactly ``files`` ({relative path: bytes});
    each changed file is replaced atomically. True if anything changed."""
    os.makedirs(path, exist_ok=True)
    changed = False
    for rel, content in files.items():
        target = os.path.join(path, rel)
        try:
            with open(target, "rb") as f:
                if f.read() == content and (os.stat(target).st_mode & 0o7777) == mode:
                    continue
        except OSError:
            pass
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = os.path.join(os.path.dirname(target), f"..tmp.{os.path.basename(target)}")
        with open(tmp, "wb") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        changed = True
    wanted = {os.path.normpath(rel) for rel in files}
    for root, _dirs, names in os.walk(path):
        for n in names:
            full = os.path.join(root, n)
            if os.path.relpath(full, path) not in wanted:
                os.unlink(full)
                changed = True
    return changed


def _object_data(kind: str, src: dict, fetch, volume: str) -> dict:
    """The files of a ConfigMap/Secret source (decoded), {} when optional and missing."""
    obj_name = src.get("name") or src.get("secretName")
    obj = fetch(kind, obj_name) if fetch else None
    if obj is None:
        if src.get("optional"):
            return {}
        raise VolumeError(f'{kind[:-1]} "{obj_name}" not found (volume {volume})')
    data = dict(obj.get("data") or {})
    if kind == "secrets":
        return {k: base64.b64decode(val) for k, val in data.items()}
    data.update({k: base64.b64decode(val) for k, val in (obj.get("binaryData") or {}).items()})
    return data


def downward_data(pod: dict, items: list) -> dict:
    """{path: content} of downwardAPI items (metadata fields; labels/annotations as key="value" lines)."""
    meta = pod.get("metadata") or {}
    out = {}
    for it in items:
        field = (it.get("fieldRef") or {}).get("fieldPath", "")
        if field in ("metadata.labels", "metadata.annotations"):
            d = meta.get(field.split(".")[1]) or {}
            out[it["path"]] = "".join(f'{k}="{d[k]}"\n' for k in sorted(d))
        elif field.startswith("metadata."):
            key = field.split(".", 1)[1]
            if "[" in key:
                kind, k = key.split("[", 1)
                out[it["path"]] = str((meta.get(kind) or {}).get(k.strip("]'\""), ""))
            else:
                out[it["path"]] = str(meta.get(key, ""))
        else:
            raise VolumeError(f"downwardAPI item {it.get('path')}: field {field or it} is not supported")
    return out


FILE_KINDS = {"configMap": "configmap", "secret": "secret", "downwardAPI": "downward-api",
              "projected": "projected"}


def file_volume(pod: dict, v: dict, fetch) -> tuple[str, dict, int]:
    """(volume dir kind, {relative path: bytes}, file mode) of a configMap/secret/downwardAPI/
    projected volume, from the objects ``fetch(kind, name)`` returns now."""
    name = v["name"]
    if "configMap" in v or "secret" in v:
        kind = "configmaps" if "configMap" in v else "secrets"
        src = v.get("configMap") or v.get("secret")
        return (FILE_KINDS["configMap" if "configMap" in v else "secret"],
                _item_files(_object_data(kind, src, fetch, name), src.get("items")),
                int(src.get("defaultMode", 0o644)))
    if "downwardAPI" in v:
        src = v["downwardAPI"]
        return FILE_KINDS["downwardAPI"], _item_files(downward_data(pod, src.get("items") or []), None), \
            int(src.get("defaultMode", 0o644))
    src = v["projected"]
    files: dict = {}
    for source in src.get("sources") or []:
        if "configMap" in source or "secret" in source:
            kind = "configmaps" if "configMap" in source else "secrets"
            s_ = source.get("configMap") or source.get("secret")
            files.update(_item_files(_object_data(kind, s_, fetch, name), s_.get("items")))
        elif "downwardAPI" in source:
            files.update(_item_files(downward_data(pod, source["downwardAPI"].get("items") or []), None))
        elif "serviceAccountToken" in source:
            s_ = source["serviceAccountToken"] or {}
            got = fetch(TOKENS, token_key(pod, s_)) if fetch else None
            if not got or "token" not in got:
                why = (got or {}).get("error") or "not requested yet"
                raise VolumeError(f"volume {name}: serviceAccountToken for serviceaccount "
                                  f"{(pod.get('spec') or {}).get('serviceAccountName') or 'default'}: {why}")
            files[s_.get("path") or "token"] = got["token"].encode()
    return FILE_KINDS["projected"], files, int(src.get("defaultMode", 0o644))


def host_path(hp: dict, name: str) -> str:
    """Create what a hostPath's type asks for; the path (VolumeError if it does not exist)."""
    path = hp["path"]
    if hp.get("type") in ("DirectoryOrCreate",) or (not hp.get("type") and not os.path.exists(path)):
        os.makedirs(path, exist_ok=True)
    elif hp.get("type") == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    if not os.path.exists(path):
        raise VolumeError(f"hostPath {path} of volume {name} does not exist")
    return path


def claim_source(pod: dict, v: dict, fetch) -> dict:
    """The hostPath-like source ({"path", "type"}) behind a persistentVolumeClaim volume:
    the claim must exist and be Bound, its PersistentVolume be a hostPath or local volume."""
    claim_name = (v["persistentVolumeClaim"] or {}).get("claimName", "")
    ns = (pod.get("metadata") or {}).get("namespace", "default")
    claim = fetch(CLAIMS, f"{ns}/{claim_name}") if fetch else None
    if claim is None:
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" not found (volume {v["name"]})')
    if (claim.get("metadata") or {}).get("deletionTimestamp"):
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" is being deleted (volume {v["name"]})')
    pv_name = (claim.get("spec") or {}).get("volumeName")
    if not pv_name or (claim.get("status") or {}).get("phase") != "Bound":
        raise VolumeNotReady(f'persistentvolumeclaim "{claim_name}" not bound (volume {v["name"]})')
    pv = fetch(PVS, pv_name)
    if pv is None:
        raise VolumeError(f'persistentvolume "{pv_name}" of claim "{claim_name}" not found (volume {v["name"]})')
    spec = pv.get("spec") or {}
    if "hostPath" in spec:
        return spec["hostPath"]
    if "local" in spec:
        return {"path": (spec["local"] or {}).get("path", ""), "type": "Directory"}
    kinds = sorted(k for k, val in spec.items() if isinstance(val, dict) and k not in PV_NOT_SOURCES)
    raise VolumeError(f"volume {v['name']}: persistentvolume {pv_name} of type {kinds or 'unknown'} is not "
                      f"supported by this kubelet (only {' and '.join(PV_SOURCES)})")


def read_only_volumes(pod: dict) -> set:
    """Names of the claim volumes the pod mounts readOnly (every container mounts them read-only)."""
    return {v["name"] for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("readOnly")}


def prepare_volumes(pod: dict, pod_dir: str, fetch=None) -> dict:
    """Create each volume's directory; ``fetch(kind, name)`` returns a ConfigMap/Secret dict."""
    out = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = v["name"]
        if "emptyDir" in v:
            path = volume_dir(pod_dir, "empty-dir", name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)
            ed = v["emptyDir"] or {}
            if ed.get("medium") == "Memory" and not os.path.ismount(path):
                size = f",size={bytes_(ed['sizeLimit'])}" if ed.get("sizeLimit") else ""
                try:
                    mount_tmpfs(path, f"mode=1777{size}")
                except OSError as e:
                    raise VolumeError(f"emptyDir {name} (medium Memory): {e}") from None
        elif "hostPath" in v:
            path = host_path(v["hostPath"], name)
        elif "persistentVolumeClaim" in v:
            path = host_path(claim_source(pod, v, fetch), name)
        elif any(k in v for k in FILE_KINDS):
            kind, files, mode = file_volume(pod, v, fetch)
            path = volume_dir(pod_dir, kind, name)
            sync_files(path, files, mode)
        else:
            kinds = sorted(k for k in v if k != "name")
            raise VolumeError(f"volume {name}: type {kinds} is not supported by this kubelet")
        out[name] = path
    return out


def has_file_volumes(pod: dict) -> bool:
    return any(k in v for v in (pod.get("spec") or {}).get("volumes") or [] for k in FILE_KINDS)


def refresh_volumes(pod: dict, pod_dir: str, fetch) -> list[str]:
    """Rewrite the file volumes from the current objects; the names of those that changed.
    A volume whose object is gone keeps its last content (as in Kubernetes)."""
    changed = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if not any(k in v for k in FILE_KINDS):
            continue
        try:
            kind, files, mode = file_volume(pod, v, fetch)
        except VolumeError:
            continue
        if sync_files(volume_dir(pod_dir, kind, v["name"]), files, mode):
            changed.append(v["name"])
    return changed


def cleanup(pod_dir: str) -> None:
    """Unmount the pod's tmpfs volumes, then remove the pod directory."""
    vols = os.path.join(pod_dir, "volumes")
    for kind in os.listdir(vols) if os.path.isdir(vols) else ():
        for name in os.listdir(os.path.join(vols, kind)):
            unmount(os.path.join(vols, kind, name))
    shutil.rmtree(pod_dir, ignore_errors=True)


def container_mounts(container: dict, volumes: dict, read_only: set | frozenset = frozenset()) -> list:
    mounts = []
    for vm in container.get("volumeMounts") or []:
        src = volumes.get(vm["name"])
        if src is None:
            raise VolumeError(f"container {container['name']}: volumeMount {vm['name']!r} has no volume")
        if vm.get("subPath"):
            src = os.path.join(src, vm["subPath"])
            os.makedirs(src, exist_ok=True)
        mounts.append({"destination": vm["mountPath"], "source": src,
                       "readonly": bool(vm.get("readOnly")) or vm["name"] in read_only})
    return mounts
