"""OCI image layout and archive writing: blobs, image config, manifest, index.

`write_oci_archive(out_path, ref, layers, config)` writes a tar of an OCI image layout
(`oci-layout`, `index.json`, `blobs/sha256/...`) that skopeo (`oci-archive:`), umoci
(after extraction) and the kubelet's image store read. Deterministic: gzip without
name or mtime, tar entries sorted with uid/gid 0 and mtime 0.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

from labkube.kubelet.images.reference import normalize_ref

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass
class ImageConfig:
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=lambda: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    working_dir: str = "/"
    exposed_ports: list[str] = field(default_factory=list)
    stop_signal: str | None = None
    architecture: str = "amd64"
    os: str = "linux"

    def to_json(self, diff_ids: list[str]) -> dict:
        cfg: dict = {"Env": list(self.env), "WorkingDir": self.working_dir}
        if self.entrypoint is not None:
            cfg["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            cfg["Cmd"] = list(self.cmd)
        if self.exposed_ports:
            cfg["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.stop_signal:
            cfg["StopSignal"] = self.stop_signal
        return {"architecture": self.architecture, "os": self.os, "config": cfg,
                "rootfs": {"type": "layers", "diff_ids": diff_ids}}


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


@dataclass
class BuiltImage:
    ref: str
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]
    diff_ids: list[str]
    blobs: dict[str, bytes]          # digest -> content
    index: dict


def build_image(ref: str, layers: list[bytes], config: ImageConfig, also: tuple[str, ...] = ()) -> BuiltImage:
    """Assemble blobs, config, manifest and index in memory from uncompressed layer tars. `also`:
    further references of the same image, each an index entry of its own (skopeo, the registry
    and the kubelet's store take every entry's ref.name as a tag)."""
    ref = normalize_ref(ref)
    blobs: dict[str, bytes] = {}
    diff_ids, descs = [], []
    for layer in layers:
        diff_ids.append(sha256(layer))
        gz = gzip_bytes(layer)
        d = sha256(gz)
        blobs[d] = gz
        descs.append({"mediaType": MT_LAYER_GZ, "digest": d, "size": len(gz)})
    cfg = canonical_json(config.to_json(diff_ids))
    cfg_digest = sha256(cfg)
    blobs[cfg_digest] = cfg
    manifest = canonical_json({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                               "config": {"mediaType": MT_CONFIG, "digest": cfg_digest, "size": len(cfg)},
                               "layers": descs})
    m_digest = sha256(manifest)
    blobs[m_digest] = manifest
    refs = [ref] + [r for r in dict.fromkeys(normalize_ref(a) for a in also) if r != ref]
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": MT_MANIFEST, "digest": m_digest, "size": len(manifest),
                            "annotations": {REF_ANNOTATION: r},
                            "platform": {"architecture": config.architecture, "os": config.os}}
                           for r in refs]}
    return BuiltImage(ref, m_digest, cfg_digest, [d["digest"] for d in descs], diff_ids, blobs, index)


def _add(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def write_oci_archive(out_path: str, ref: str, layers: list[bytes], config: ImageConfig,
                      also: tuple[str, ...] = ()) -> BuiltImage:
    """Write the image as an OCI archive at ``out_path`` (atomically) and return what was built
    (`also`: further references of it, as build_image)."""
    img = build_image(ref, layers, config, also)
    tmp = f"{out_path}.tmp{os.getpid()}"
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "blobs", None, 0o755)
        _add(tar, "blobs/sha256", None, 0o755)
        for digest in sorted(img.blobs):
            _add(tar, "blobs/sha256/" + digest.split(":", 1)[1], img.blobs[digest], 0o644)
        _add(tar, "index.json", canonical_json(img.index), 0o644)
        _add(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}), 0o644)
    os.replace(tmp, out_path)
    return img


def archive_refs(path: str) -> list[str]:
    """The references an OCI archive's index names, in order ([] when it has no readable index)."""
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("index.json")
            index = json.loads(member.read()) if member is not None else {}
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return []
    return [r for d in index.get("manifests", []) if (r := (d.get("annotations") or {}).get(REF_ANNOTATION))]
