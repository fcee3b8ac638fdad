"""Build, load and list images in the running lab's registry.

  labctl image build DIR -t NAME[:TAG] [--config FILE] [--cmd ...]   a directory as the rootfs
  labctl image build --from-debian PKG... -t NAME[:TAG]              packages' files + libraries
  labctl image load FILE [-t NAME[:TAG]]                             an OCI or docker archive
  labctl image ls                                                    what the lab registry holds

Images are pushed to the registry on the first master; pods name them as pushed
(`image: NAME:TAG`): the kubelets pull docker.io/... references from the lab registry.
"""
from __future__ import annotations

import os
import shlex
import tempfile

from .. import imagestore
from ..errors import LabError
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    sub = p.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="build an image from a directory or Debian packages and push it")
    b.add_argument("directory", nargs="?", help="directory to use as the root filesystem")
    b.add_argument("--from-debian", nargs="+", metavar="PKG", help="installed Debian packages to copy in")
    b.add_argument("-t", "--tag", required=True, help="NAME[:TAG] of the image")
    b.add_argument("--config", help="YAML/JSON image config (entrypoint, cmd, env, workingDir, ...)")
    b.add_argument("--cmd", help="default command (shell words)")
    b.add_argument("--entrypoint", help="entrypoint (shell words)")
    b.add_argument("-o", "--output", help="also keep the OCI archive at this path")
    ld = sub.add_parser("load", help="push an OCI or docker archive")
    ld.add_argument("file")
    ld.add_argument("-t", "--tag", help="NAME[:TAG] to push as (default: the names in the archive)")
    sub.add_parser("ls", help="list the images in the lab registry")


def run(args) -> int:
    lab = Lab(args.inventory)
    lab.require_up()
    registry = imagestore.registry_address(lab)
    try:
        return {"build": _build, "load": _load, "ls": _ls}[args.image_command](args, registry)
    except (imagestore.ImageStoreError, OSError, ValueError) as e:
        raise LabError(str(e)) from None


def _build(args, registry: str) -> int:
    from ..images.userbuild import build_from_debian, build_from_dir, load_config
    if bool(args.directory) == bool(args.from_debian):
        raise LabError("give either DIR or --from-debian PKG...")
    cfg = load_config(args.config)
    if args.cmd:
        cfg.cmd = shlex.split(args.cmd)
    if args.entrypoint:
        cfg.entrypoint = shlex.split(args.entrypoint)
    with tempfile.TemporaryDirectory(prefix="labctl-image-") as tmp:
        out = args.output or os.path.join(tmp, "image.tar")
        if args.directory:
            img = build_from_dir(args.directory, out, args.tag, cfg)
        else:
            img = build_from_debian(args.from_debian, out, args.tag, cfg)
        target = imagestore.push_reference(args.tag, registry)
        pushed, digest = imagestore.push(f"oci-archive:{out}", target, img.manifest_digest)
    print(f"{'pushed' if pushed else 'unchanged'} {target} {digest}")
    return 0


def _load(args, registry: str) -> int:
    info = imagestore.inspect_archive(args.file)
    names = [args.tag] if args.tag else [n for n in info.names if any(c in n for c in "/:@")]
    if not names:
        raise LabError(f"{args.file} names no image (or only a bare tag like 'latest'): give one with -t NAME[:TAG]")
    for name in names:
        target = imagestore.push_reference(name, registry)
        pushed, digest = imagestore.push(f"{info.transport}:{args.file}", target, info.digest)
        print(f"{'pushed' if pushed else 'unchanged'} {target} {digest}")
    return 0


def _ls(args, registry: str) -> int:
    rows = imagestore.list_images(registry)
    print(f"{'IMAGE':<40} {'DIGEST':<71} REGISTRY REFERENCE")
    for repo, tag, digest in rows:
        print(f"{imagestore.display_name(repo, tag):<40} {digest:<71} {registry}/{repo}:{tag}")
    return 0
