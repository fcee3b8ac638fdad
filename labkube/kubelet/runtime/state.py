"""On-disk records of sandboxes and containers, so a restarted kubelet finds them again.

    <root_dir>/sandboxes/<id>.json
    <root_dir>/containers/<id>/meta.json     (next to the bundle's config.json)
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, fields

from .base import ContainerStatus, Sandbox


def _write_json(path: str, data: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _read_json(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _known(cls, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


class StateDir:
    def __init__(self, root_dir: str):
        self.sandboxes = os.path.join(root_dir, "sandboxes")
        self.containers = os.path.join(root_dir, "containers")
        os.makedirs(self.sandboxes, exist_ok=True)
        os.makedirs(self.containers, exist_ok=True)

    def bundle(self, container_id: str) -> str:
        return os.path.join(self.containers, container_id)

    def save_sandbox(self, sb: Sandbox) -> None:
        _write_json(os.path.join(self.sandboxes, f"{sb.id}.json"), asdict(sb))

    def delete_sandbox(self, sandbox_id: str) -> None:
        try:
            os.unlink(os.path.join(self.sandboxes, f"{sandbox_id}.json"))
        except FileNotFoundError:
            pass

    def load_sandboxes(self) -> dict[str, Sandbox]:
        out = {}
        for name in os.listdir(self.sandboxes):
            if name.endswith(".json"):
                data = _read_json(os.path.join(self.sandboxes, name))
                if data:
                    out[data["id"]] = Sandbox(**_known(Sandbox, data))
        return out

    def save_container(self, st: ContainerStatus, extra: dict | None = None) -> None:
        data = asdict(st)
        data.update(extra or {})
        _write_json(os.path.join(self.bundle(st.id), "meta.json"), data)

    def load_containers(self) -> dict[str, tuple[ContainerStatus, dict]]:
        out = {}
        for cid in os.listdir(self.containers):
            data = _read_json(os.path.join(self.containers, cid, "meta.json"))
            if data:
                st = ContainerStatus(**_known(ContainerStatus, data))
                extra = {k: v for k, v in data.items() if k not in asdict(st)}
                out[cid] = (st, extra)
        return out
