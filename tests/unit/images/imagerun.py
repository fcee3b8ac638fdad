"""Run a built image's own files the way a container would see them, for the image tests: its
layers unpacked into a directory, a command or its entrypoint started there under chroot, in a
network namespace of its own (so its fixed port is free), and HTTP requests made from inside the
image with its busybox wget. Needs root (chroot, unshare); the tests skip without it."""
from __future__ import annotations

import gzip
import io
import json
import os
import shlex
import subprocess
import tarfile
from pathlib import Path

from labkube.kubelet.images.layers import apply_layer

CAN_RUN = os.geteuid() == 0 and subprocess.run(["which", "unshare"], capture_output=True).returncode == 0


def layer(img, i) -> tarfile.TarFile:
    """Layer i of a built image (labctl.images' BuiltImage) as a tar."""
    return tarfile.open(fileobj=io.BytesIO(gzip.decompress(img.blobs[img.layer_digests[i]])))


def unpack(img, root: Path) -> dict:
    """Unpack every layer into `root`, in order, as the kubelet does (apply_layer: a later layer
    replaces a path, never writes through an earlier layer's symbolic link; tarfile's extractall
    wrote usr/bin/nslookup through busybox's link to /bin/busybox, the host's); returns the
    image's config."""
    root.mkdir(parents=True, exist_ok=True)
    for digest in img.layer_digests:
        apply_layer(str(root), io.BytesIO(img.blobs[digest]))
    return json.loads(img.blobs[img.config_digest])["config"]


def serve_and_get(img, root: Path, port: int, paths: list[str], env: dict[str, str]) -> tuple[list[str], str]:
    """Start the image's entrypoint + command (its Env, plus `env`) in `root`, GET every path on
    127.0.0.1:`port` from inside the image once it answers, stop it. Returns the answers and what
    the server wrote to stdout and stderr."""
    cfg = unpack(img, root)
    argv = [*(cfg.get("Entrypoint") or []), *(cfg.get("Cmd") or [])]
    envs = [*cfg.get("Env", []), *(f"{k}={v}" for k, v in env.items())]
    start = "env -i " + " ".join(shlex.quote(e) for e in envs) + f" chroot {shlex.quote(str(root))} " + \
        " ".join(shlex.quote(a) for a in argv)
    get = f"chroot {shlex.quote(str(root))} /bin/busybox wget -q -O- http://127.0.0.1:{port}"
    script = f"""
ip link set lo up
{start} > {shlex.quote(str(root))}.out 2>&1 &
server=$!
for i in $(seq 200); do {get}/ > /dev/null 2>&1 && break; sleep 0.05; done
for p in {" ".join(shlex.quote(p) for p in paths)}; do {get}"$p"; echo; echo "--- end"; done
kill $server; wait $server
"""
    out = subprocess.run(["unshare", "--net", "--fork", "sh", "-c", script], capture_output=True, text=True,
                         timeout=120).stdout
    return out.split("\n--- end\n")[:len(paths)], Path(f"{root}.out").read_text()


def run_command(img, root: Path, argv: list[str]) -> subprocess.CompletedProcess:
    """`argv` run in the unpacked image (chroot, its Env, a network namespace with only lo)."""
    cfg = unpack(img, root)
    return subprocess.run(["unshare", "--net", "--fork", "env", "-i", *cfg.get("Env", []), "chroot", str(root), *argv],
                          capture_output=True, text=True, timeout=60)
