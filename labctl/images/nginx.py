"""The `nginx` image: the busybox layer plus Debian's nginx with the libraries it links.

Layer 1 is the busybox rootfs (same digest as the busybox image, so registries share
it; also gives `exec` a shell). Layer 2: /usr/sbin/nginx, every library `ldd` lists
(copied with symlinks resolved), libnss_files (getpwnam "nobody"), mime.types, the
default index.html and a minimal foreground config that logs to the container's fds.
"""
from __future__ import annotations

import os
import re
import subprocess

from .busybox import BUSYBOX, busybox_rootfs
from .oci import BuiltImage, ImageConfig, write_oci_archive
from .rootfs import Rootfs

NGINX = "/usr/sbin/nginx"
NSS_FILES = "/lib/x86_64-linux-gnu/libnss_files.so.2"
NGINX_CONF = """user nobody nogroup;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /dev/stdout;
  server {
    listen 80 default_server;
    root /usr/share/nginx/html;
    index index.html;
    location = /healthz { return 200 "ok\\n"; }
  }
}
"""
INDEX_HTML = """<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1><p>Served by the lab's nginx image.</p></body></html>
"""


def linked_libraries(binary: str) -> list[str]:
    """Absolute paths of the shared libraries ``binary`` loads (from ldd)."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    return sorted({m for m in re.findall(r"(/\S+)", out)})


def nginx_layer(nginx: str = NGINX) -> Rootfs:
    if not os.path.exists(nginx):
        raise FileNotFoundError(f"{nginx} is missing: install the nginx-light package")
    fs = Rootfs()
    fs.add_file("usr/sbin/nginx", nginx, 0o755)
    libs = linked_libraries(nginx)
    if os.path.exists(NSS_FILES):
        libs.append(NSS_FILES)
    for lib in sorted(set(libs)):
        fs.add_file(lib, os.path.realpath(lib), 0o755)
    mime = "/etc/nginx/mime.types"
    if os.path.exists(mime):
        fs.add_file("etc/nginx/mime.types", mime, 0o644)
    else:
        fs.add_bytes("etc/nginx/mime.types", "types { text/html html; text/plain txt; }\n")
    fs.add_bytes("etc/nginx/nginx.conf", NGINX_CONF)
    fs.add_bytes("usr/share/nginx/html/index.html", INDEX_HTML)
    for d in ("var/lib/nginx", "var/log/nginx", "run"):
        fs.mkdir(d)
    fs.mkdir("tmp", 0o1777)
    return fs


def nginx_rootfs(nginx: str = NGINX) -> Rootfs:
    """Both layers merged (for inspection and tests)."""
    fs = busybox_rootfs()
    fs.entries.update(nginx_layer(nginx).entries)
    return fs


def nginx_config() -> ImageConfig:
    return ImageConfig(entrypoint=["/usr/sbin/nginx"], cmd=["-c", "/etc/nginx/nginx.conf"],
                       env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], working_dir="/",
                       exposed_ports=["80/tcp"], stop_signal="SIGQUIT")


def build_nginx(out_path: str, ref: str = "nginx:latest", nginx: str = NGINX,
                busybox: str = BUSYBOX, also: tuple[str, ...] = ()) -> BuiltImage:
    """Write the nginx image as an OCI archive at ``out_path`` (`also`: further references of it)."""
    layers = [busybox_rootfs(busybox).render(), nginx_layer(nginx).render()]
    return write_oci_archive(out_path, ref, layers, nginx_config(), also)
