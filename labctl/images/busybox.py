"""The `busybox` image: Debian's busybox-static plus a symlink per applet.

One layer: /bin/busybox, every applet of `busybox --list-full` as a symlink to it, a
minimal /etc/passwd and /etc/group (root, nobody/nogroup), and the usual empty
directories (/tmp is 1777). Config: Cmd ["sh"], like the Docker Hub image.

Debian builds busybox without wget's timeout option, so `wget -T 2 URL` crashes it and
`wget --timeout=2 URL` (the NetworkPolicy walkthroughs' probe) is refused. The image's
`wget` is therefore a small script: it takes `-T N`, `-TN`, `--timeout N` or `--timeout=N`
off the command line, runs busybox's wget under busybox's `timeout`, and on expiry says
"wget: download timed out" and exits 1, as the Docker Hub image's wget does.
"""
from __future__ import annotations

import subprocess

from .oci import BuiltImage, ImageConfig, write_oci_archive
from .rootfs import Rootfs

BUSYBOX = "/bin/busybox"
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"
WGET_PATH = "usr/bin/wget"
WGET = """#!/bin/sh
# busybox wget with -T/--timeout (Debian's busybox is built without it; see labctl/images/busybox.py)
t= want=
for a do
  shift
  if [ -n "$want" ]; then t=$a; want=; continue; fi
  case $a in
    -T|--timeout) want=1; continue ;;
    -T*) t=${a#-T}; continue ;;
    --timeout=*) t=${a#--timeout=}; continue ;;
  esac
  set -- "$@" "$a"
done
[ -n "$t" ] || exec /bin/busybox wget "$@"
# wget's errors go to stderr, the notice "Terminated" a shell prints for the killed wget does
# not: the subshell waiting for it has /dev/null as stderr, and wget gets the real one back
# from an inner sh (a redirection on the command itself would be in force while it waits)
( /bin/busybox sh -c 'exec 2>&3 3>&-; exec "$@"' sh /bin/busybox timeout "$t" /bin/busybox wget "$@"
  exit $? ) 3>&2 2>/dev/null
rc=$?
if [ "$rc" -eq 143 ]; then echo "wget: download timed out" >&2; exit 1; fi
exit "$rc"
"""


def applets(busybox: str = BUSYBOX) -> list[str]:
    """Paths (relative to /) of every applet the binary provides."""
    try:
        out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise FileNotFoundError(f"{busybox} is missing: install the busybox-static package") from None
    return sorted({line.strip().lstrip("/") for line in out.splitlines() if line.strip()})


def busybox_rootfs(busybox: str = BUSYBOX) -> Rootfs:
    fs = Rootfs()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "var"):
        fs.mkdir(d)
    fs.mkdir("tmp", 0o1777)
    fs.add_file("bin/busybox", busybox, 0o755)
    for path in applets(busybox):
        if path not in ("bin/busybox", WGET_PATH):
            fs.symlink(path, "/bin/busybox")
    fs.add_bytes(WGET_PATH, WGET, 0o755)
    fs.add_bytes("etc/passwd", PASSWD)
    fs.add_bytes("etc/group", GROUP)
    return fs


def busybox_config() -> ImageConfig:
    return ImageConfig(cmd=["sh"], env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])


def build_busybox(out_path: str, ref: str = "busybox:latest", busybox: str = BUSYBOX,
                  also: tuple[str, ...] = ()) -> BuiltImage:
    """Write the busybox image as an OCI archive at ``out_path`` (`also`: further references of it)."""
    return write_oci_archive(out_path, ref, [busybox_rootfs(busybox).render()], busybox_config(), also)
