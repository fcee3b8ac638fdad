"""Pod volumes on the node: emptyDir, hostPath, configMap, secret, downwardAPI and projected
(configMap/secret/downwardAPI sources); files are written once, when the pod starts.

`prepare_volumes` returns {volume name: host path}; `container_mounts` turns a
container's volumeMounts into the runtime's mount list.
"""
from __future__ import annotations

import base64
import os
import shutil

from .quantity import bytes_
from .runtime.overlay import mount_tmpfs, unmount


class VolumeError(Exception):
    pass


def volume_dir(pod_dir: str, kind: str, name: str) -> str:
    return os.path.join(pod_dir, "volumes", f"kubernetes.io~{kind}", name)


def _write_items(path: str, data: dict, items: list | None, mode: int) -> None:
    os.makedirs(path, exist_ok=True)
    wanted = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in data}
    for key, rel in wanted.items():
        if key not in data:
            continue
        target = os.path.join(path, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        val = data[key]
        with open(target, "wb") as f:
            f.write(val if isinstance(val, bytes) else str(val).encode())
        os.chmod(target, mode)


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
            hp = v["hostPath"]
            path = hp["path"]
            if hp.get("type") in ("DirectoryOrCreate",) or (not hp.get("type") and not os.path.exists(path)):
                os.makedirs(path, exist_ok=True)
            elif hp.get("type") == "FileOrCreate" and not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            if not os.path.exists(path):
                raise VolumeError(f"hostPath {path} of volume {name} does not exist")
        elif "configMap" in v or "secret" in v:
            kind = "configmaps" if "configMap" in v else "secrets"
            src = v.get("configMap") or v.get("secret")
            path = volume_dir(pod_dir, "configmap" if kind == "configmaps" else "secret", name)
            _write_items(path, _object_data(kind, src, fetch, name), src.get("items"),
                         int(src.get("defaultMode", 0o644)))
        elif "downwardAPI" in v:
            src = v["downwardAPI"]
            path = volume_dir(pod_dir, "downward-api", name)
            data = downward_data(pod, src.get("items") or [])
            _write_items(path, data, None, int(src.get("defaultMode", 0o644)))
        elif "projected" in v:
            src = v["projected"]
            path = volume_dir(pod_dir, "projected", name)
            mode = int(src.get("defaultMode", 0o644))
            for source in src.get("sources") or []:
                if "configMap" in source or "secret" in source:
                    kind = "configmaps" if "configMap" in source else "secrets"
                    s_ = source.get("configMap") or source.get("secret")
                    _write_items(path, _object_data(kind, s_, fetch, name), s_.get("items"), mode)
                elif "downwardAPI" in source:
                    _write_items(path, downward_data(pod, source["downwardAPI"].get("items") or []), None, mode)
                # serviceAccountToken sources: this lab has no token issuer; nothing is written
            os.makedirs(path, exist_ok=True)
        else:
            kinds = sorted(k for k in v if k != "name")
            raise VolumeError(f"volume {name}: type {kinds} is not supported by this kubelet")
        out[name] = path
    return out


def cleanup(pod_dir: str) -> None:
    """Unmount the pod's tmpfs volumes, then remove the pod directory."""
    vols = os.path.join(pod_dir, "volumes")
    for kind in os.listdir(vols) if os.path.isdir(vols) else ():
        for name in os.listdir(os.path.join(vols, kind)):
            unmount(os.path.join(vols, kind, name))
    shutil.rmtree(pod_dir, ignore_errors=True)


def container_mounts(container: dict, volumes: dict) -> list:
    mounts = []
    for vm in container.get("volumeMounts") or []:
        src = volumes.get(vm["name"])
        if src is None:
            raise VolumeError(f"container {container['name']}: volumeMount {vm['name']!r} has no volume")
        if vm.get("subPath"):
            src = os.path.join(src, vm["subPath"])
            os.makedirs(src, exist_ok=True)
        mounts.append({"destination": vm["mountPath"], "source": src, "readonly": bool(vm.get("readOnly"))})
    return mounts
