"""What the control machine builds once and copies to every node: a wheelhouse and images.

Nodes have no internet, so labkube and its dependencies travel as wheels, and container
images are built offline from Debian packages. Both are cached under the user's cache
directory and rebuilt only when their inputs change, so a second `labctl up` copies
nothing new.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import LabError


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "labctl"


def project_root() -> Path:
    """The source checkout labctl runs from (the wheel is built from it)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").exists():
        raise LabError(f"labctl is not running from a source checkout ({root}): "
                       f"install it with `pip install -e .` from the repository")
    return root


def _digest(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def source_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml"]
    for pkg in ("labctl", "labkube"):
        files += sorted(p for p in (root / pkg).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def _pip_wheel(root: Path, out: Path, *extra: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                           "--no-build-isolation", "--wheel-dir", str(out), *extra, str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise LabError(f"building the wheelhouse failed: {last}")


def _rebuild(out: Path, digest: str, build) -> None:
    """Run build(tmpdir) unless out holds a build of this digest; swap it in atomically."""
    stamp = out / ".digest"
    if stamp.exists() and stamp.read_text() == digest:
        return
    tmp = out.with_name(out.name + ".tmp")
    if tmp.is_file() or tmp.is_symlink():     # left by an interrupted or concurrent older build
        tmp.unlink()
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    build(tmp)
    (tmp / ".digest").write_text(digest)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


@contextlib.contextmanager
def _building():
    """One build at a time in the cache: labctl runs on one machine (a lab and a test, two
    users) share it, and a build swaps directories another build would be writing into."""
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".build-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def wheelhouse() -> Path:
    """A directory of wheels holding labctl/labkube and all their dependencies.

    Dependencies are rebuilt only when pyproject.toml changes, the project's own wheel
    when any source file changes; the wheelhouse is their union.
    """
    with _building():
        return _wheelhouse()


def _wheelhouse() -> Path:
    root = project_root()
    base = cache_dir()
    deps, own, out = base / "wheels-deps", base / "wheels-own", base / "wheelhouse"
    _rebuild(deps, _digest([root / "pyproject.toml"], root), lambda d: _pip_wheel(root, d))
    _rebuild(own, _digest(source_files(root), root), lambda d: _pip_wheel(root, d, "--no-deps"))
    digest = (deps / ".digest").read_text() + (own / ".digest").read_text()

    def combine(tmp: Path) -> None:
        for whl in deps.glob("*.whl"):
            if not whl.name.startswith("labctl-"):
                shutil.copy2(whl, tmp / whl.name)
        for whl in own.glob("*.whl"):
            shutil.copy2(whl, tmp / whl.name)
    _rebuild(out, digest, combine)
    return out


def uv_binary() -> Path:
    """The uv installer the nodes use to install the wheelhouse quickly."""
    for candidate in (Path(sys.executable).parent / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise LabError("uv is missing from labctl's virtualenv: run `make up` (pip install uv)")


# the lab's base images and their references: besides latest, those the Kubernetes documentation's
# walkthroughs use (the Deployment page updates nginx:1.14.2 to nginx:1.16.1 and rolls back from the
# mistyped nginx:1.161; pod, Service and DNS examples run busybox:1.28; the probe and ConfigMap
# pages registry.k8s.io/busybox, which the kubelets also pull from the lab registry; the
# StatefulSet tutorial registry.k8s.io/nginx-slim:0.21, updated to 0.24; the HorizontalPodAutoscaler
# walkthrough registry.k8s.io/hpa-example; the "Learn Kubernetes Basics" tutorial kubernetes-bootcamp
# v1, rolled out to v2; the "Debugging DNS Resolution" page jessie-dnsutils, under its older gcr.io
# name too), so they work offline. Each name's tags are the same image, built from
# Debian's packages (nginx -v tells its real version).
LAB_IMAGE_REFS = {"busybox": ("busybox:latest", "busybox:1.28", "registry.k8s.io/busybox:latest"),
                  "nginx": ("nginx:latest", "nginx:1.14.2", "nginx:1.16.1",
                            "registry.k8s.io/nginx-slim:0.21", "registry.k8s.io/nginx-slim:0.24"),
                  "hpa-example": ("registry.k8s.io/hpa-example:latest",),
                  "kubernetes-bootcamp-v1": ("gcr.io/google-samples/kubernetes-bootcamp:v1",
                                             "jocatalin/kubernetes-bootcamp:v1"),
                  "kubernetes-bootcamp-v2": ("jocatalin/kubernetes-bootcamp:v2",),
                  "dnsutils": ("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
                               "gcr.io/kubernetes-e2e-test-images/dnsutils:1.3")}


def images() -> Path:
    """A directory with the lab's base images as OCI archives (LAB_IMAGE_REFS' names)."""
    with _building():
        return _images()


def _images() -> Path:
    from .images import BUILDERS
    from .images.oci import archive_refs
    from labkube.kubelet.images.reference import normalize_ref
    out = cache_dir() / "images"
    out.mkdir(parents=True, exist_ok=True)
    # the image builders' code: an archive built by other code is built again
    package = Path(__file__).resolve().parent / "images"
    recipe = _digest(sorted(package.glob("*.py")), package)
    for name, refs in LAB_IMAGE_REFS.items():
        target, stamp = out / f"{name}.tar", out / f"{name}.recipe"
        # built before the tags were added (or with others), or by other code: built again
        if not target.exists() or archive_refs(str(target)) != [normalize_ref(r) for r in refs] \
                or not stamp.exists() or stamp.read_text() != recipe:
            tmp = out / f"{name}.tmp"
            try:
                BUILDERS[name](str(tmp), refs[0], also=tuple(refs[1:]))
            except (OSError, RuntimeError) as exc:
                raise LabError(f"building the {name} image failed: {exc} (run `make install`)")
            tmp.rename(target)
            stamp.write_text(recipe)
    return out
