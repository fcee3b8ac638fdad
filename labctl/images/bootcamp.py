"""The `kubernetes-bootcamp` images of kubernetes.io's "Learn Kubernetes Basics" tutorial: a web
app on port 8080 that answers `Hello Kubernetes bootcamp! | Running on: <pod name> | v=<N>`, in
version 1 (gcr.io/google-samples/kubernetes-bootcamp:v1, which the tutorial deploys) and version
2 (docker.io/jocatalin/kubernetes-bootcamp:v2, which it rolls out; its v10 does not exist, so
that rollout fails to pull and is undone, as the tutorial needs).

The tutorial's app is Node.js; these serve the same answers from PHP's built-in server (the
hpa-example image's PHP layer, so the registry stores it once), with `bash` and `curl` in the
image because the tutorial runs `kubectl exec -ti $POD_NAME -- bash` and `curl localhost:8080`
inside the container. The log says when the app started and, for every request, the pod it runs
on and the requests served so far.
"""
from __future__ import annotations

from .busybox import busybox_rootfs
from .hpaexample import PHP, php_layer
from .oci import BuiltImage, ImageConfig, write_oci_archive
from .rootfs import Rootfs
from .userbuild import debian_layer

PORT = 8080
APP = "app"
TOOLS = ["bash", "curl"]
# the app: one router script for every path; the request count lives in /tmp (busybox's layer;
# PHP's variables do not outlive a request)
SERVER_PHP = """<?php
// kubernetes-bootcamp, as the lab builds it: who answered, and which version
$host = getenv("HOSTNAME") ?: gethostname();
header("Content-Type: text/plain");
echo "Hello Kubernetes bootcamp! | Running on: " . $host . " | v=%(version)s\\n";
$count = "/tmp/bootcamp-requests";
$served = (int) @file_get_contents($count) + 1;
@file_put_contents($count, (string) $served);
$started = @filemtime("/tmp/bootcamp-started") ?: time();
$log = fopen("php://stdout", "w");
fwrite($log, sprintf("Running On: %%s | Total Requests: %%d | App Uptime: %%.3f seconds | Log Time: %%s\\n",
    $host, $served, microtime(true) - $started, date(DATE_RFC2822)));
fclose($log);
"""
START_SH = """#!/bin/sh
# kubernetes-bootcamp: say when and where the app started, then serve every path with server.php
touch /tmp/bootcamp-started
echo "Kubernetes Bootcamp App Started At: $(date) | Running On: ${HOSTNAME:-$(hostname)}"
exec %(php)s -q -S 0.0.0.0:%(port)d /%(app)s/server.php
"""


def tools_layer() -> Rootfs:
    """bash and curl, with the libraries they load."""
    return debian_layer(TOOLS)


def app_layer(version: int) -> Rootfs:
    fs = Rootfs()
    fs.add_bytes(f"{APP}/server.php", SERVER_PHP % {"version": version}, 0o644)
    fs.add_bytes(f"{APP}/start.sh", START_SH % {"php": PHP, "port": PORT, "app": APP}, 0o755)
    return fs


def bootcamp_config() -> ImageConfig:
    return ImageConfig(cmd=[f"/{APP}/start.sh"], working_dir=f"/{APP}", exposed_ports=[f"{PORT}/tcp"])


def build_bootcamp(out_path: str, ref: str = "gcr.io/google-samples/kubernetes-bootcamp:v1",
                   also: tuple[str, ...] = (), version: int = 1) -> BuiltImage:
    """Write version `version` of the app as an OCI archive at ``out_path`` (`also`: further
    references)."""
    layers = [busybox_rootfs().render(), php_layer().render(), tools_layer().render(), app_layer(version).render()]
    return write_oci_archive(out_path, ref, layers, bootcamp_config(), also)


def build_bootcamp_v2(out_path: str, ref: str = "jocatalin/kubernetes-bootcamp:v2",
                      also: tuple[str, ...] = ()) -> BuiltImage:
    return build_bootcamp(out_path, ref, also, version=2)
