"""Pod volumes on the node: emptyDir, hostPath, configMap and secret (files written once).

`prepare_volumes` returns {volume name: host path}; `container_mounts` turns a
container's volumeMounts into the runtime's mount list.
"""
from __future__ import annotations

import base64
import os


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


def prepare_volumes(pod: dict, pod_dir: str, fetch=None) -> dict:
    """Create each volume's directory; ``fetch(kind, name)`` returns a ConfigMap/Secret dict."""
    out = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = v["name"]
        if "emptyDir" in v:
            path = volume_dir(pod_dir, "empty-dir", name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)
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
            obj_name = src.get("name") or src.get("secretName")
            obj = fetch(kind, obj_name) if fetch else None
            if obj is None:
                if src.get("optional"):
                    obj = {}
                else:
                    raise VolumeError(f'{kind[:-1]} "{obj_name}" not found (volume {name})')
            data = dict(obj.get("data") or {})
            if kind == "secrets":
                data = {k: base64.b64decode(val) for k, val in data.items()}
            else:
                data.update({k: base64.b64decode(val) for k, val in (obj.get("binaryData") or {}).items()})
            path = volume_dir(pod_dir, "configmap" if kind == "configmaps" else "secret", name)
            _write_items(path, data, src.get("items"), int(src.get("defaultMode", 0o644)))
        else:
            kinds = sorted(k for k in v if k != "name")
            raise VolumeError(f"volume {name}: type {kinds} is not supported by this kubelet")
        out[name] = path
    return out


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
