"""User images for `labctl image build`: a directory as the root filesystem, or Debian
packages' files with the libraries their binaries link (as the nginx image is made).

    build_from_dir("app/", "out.tar", "myapp:1", config)
    build_from_debian(["jq"], "out.tar", "jq:latest", config)   # busybox layer + the packages

Both are deterministic (sorted entries, uid/gid 0, mtime 0): the same input gives the same
digest, so pushing again is a no-op. The image config comes from a YAML/JSON file with the
keys entrypoint, cmd, env, workingDir, exposedPorts, stopSignal (all optional).
"""
from __future__ import annotations

import os
import stat
import subprocess

import yaml

from .busybox import busybox_rootfs
from .nginx import linked_libraries
from .oci import BuiltImage, ImageConfig, write_oci_archive
from .rootfs import Rootfs

SKIP_PREFIXES = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/lintian/", "usr/share/locale/")
CONFIG_KEYS = {"entrypoint", "cmd", "env", "workingDir", "exposedPorts", "stopSignal"}


def load_config(path: str | None, base: ImageConfig | None = None) -> ImageConfig:
    """An ImageConfig from a YAML/JSON file (missing keys keep ``base``'s values)."""
    cfg = base or ImageConfig()
    if not path:
        return cfg
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict) or set(doc) - CONFIG_KEYS:
        raise ValueError(f"{path}: expected a mapping with keys among {', '.join(sorted(CONFIG_KEYS))}")
    for key, attr in (("entrypoint", "entrypoint"), ("cmd", "cmd"), ("env", "env"), ("exposedPorts", "exposed_ports")):
        if key in doc:
            val = doc[key]
            if isinstance(val, str):
                val = [val]
            if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
                raise ValueError(f"{path}: {key} must be a list of strings")
            setattr(cfg, attr, val)
    if "workingDir" in doc:
        cfg.working_dir = str(doc["workingDir"])
    if "stopSignal" in doc:
        cfg.stop_signal = str(doc["stopSignal"])
    return cfg


def dir_rootfs(directory: str) -> Rootfs:
    """Every directory, regular file and symlink under ``directory`` (other kinds skipped)."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory} is not a directory")
    fs = Rootfs()
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        rel_root = os.path.relpath(root, directory)
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            rel = name if rel_root == "." else os.path.join(rel_root, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                fs.symlink(rel, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                fs.mkdir(rel, st.st_mode & 0o7777)
            elif stat.S_ISREG(st.st_mode):
                fs.add_file(rel, path, st.st_mode & 0o7777)
    return fs


def _installed_paths(package: str) -> list[str]:
    """The paths `dpkg -L` lists for an installed package, documentation left out."""
    p = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if p.returncode != 0:
        raise FileNotFoundError(f"package {package} is not installed here (apt-get install {package})")
    paths = (line.strip() for line in p.stdout.splitlines())
    return [path for path in paths if path.lstrip("/") and not path.lstrip("/").startswith(SKIP_PREFIXES)]


def package_files(package: str) -> list[str]:
    """Regular files a Debian package installed (documentation left out)."""
    return sorted(path for path in _installed_paths(package) if os.path.isfile(path) and not os.path.islink(path))


def package_symlinks(package: str) -> list[tuple[str, str]]:
    """[(path, target)] of the symbolic links a Debian package installed (documentation left out),
    as the host has them: perl-modules' /usr/share/perl/5.36 -> 5.36.0, a library's soname links."""
    return sorted((path, os.readlink(path)) for path in _installed_paths(package) if os.path.islink(path))


def _is_elf(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def debian_layer(packages: list[str]) -> Rootfs:
    """The packages' files, their symbolic links and the libraries their programs load. A link
    that other paths of the layer go through (merged /usr's /lib -> usr/lib: dpkg lists
    /lib/x86_64-linux-gnu/... under it) stays a directory of the layer, as those paths need."""
    fs = Rootfs()
    files = [path for pkg in packages for path in package_files(pkg)]
    links = [link for pkg in packages for link in package_symlinks(pkg)]
    libs: set[str] = set()
    for path in files:
        if _is_elf(path) and os.access(path, os.X_OK):
            try:
                libs.update(linked_libraries(path))
            except subprocess.CalledProcessError:
                pass                       # static binaries: "not a dynamic executable"
    libs = {lib for lib in libs if os.path.exists(lib)}
    through = {os.path.dirname(path) for path in [*files, *libs, *(p for p, _ in links)]}
    for path, target in links:
        if not any(d == path or d.startswith(path + "/") for d in through):
            fs.symlink(path.lstrip("/"), target)
    for path in files:
        fs.add_file(path.lstrip("/"), path)
    for lib in sorted(libs):
        fs.add_file(lib.lstrip("/"), os.path.realpath(lib), 0o755)
    return fs


def build_from_dir(directory: str, out_path: str, ref: str, config: ImageConfig) -> BuiltImage:
    return write_oci_archive(out_path, ref, [dir_rootfs(directory).render()], config)


def build_from_debian(packages: list[str], out_path: str, ref: str, config: ImageConfig,
                      also: tuple[str, ...] = ()) -> BuiltImage:
    """Busybox (a shell for exec and scripts) as layer 1, the packages as layer 2 (`also`:
    further references of the image)."""
    return write_oci_archive(out_path, ref, [busybox_rootfs().render(), debian_layer(packages).render()], config,
                             also)
