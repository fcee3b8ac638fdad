"""Push the lab's image archives into the lab registry, idempotently (stdlib + skopeo).

    python3 push_images.py IMAGES_DIR REGISTRY     e.g. ~/.cache/labctl/images 10.200.0.10:5000

Each IMAGES_DIR/<name>.tar (an OCI archive) goes to the registry under every reference its
index names (each entry's ref.name), at that reference's path: docker.io/library/nginx:1.14.2 as
REGISTRY/library/nginx:1.14.2, registry.k8s.io/busybox:latest as REGISTRY/busybox:latest (the
kubelets pull both domains from the lab registry, path kept); an archive that names none goes
to REGISTRY/library/<name>:latest. A reference the registry already serves with the entry's
manifest digest is left alone. Prints one line per reference: "pushed <ref> <digest>" or
"ok <ref> <digest>"; exits 1 with the reason on failure.
"""
import json
import os
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


REF_ANNOTATION = "org.opencontainers.image.ref.name"


def archive_targets(path):
    """[(repository path, tag, skopeo's source reference, manifest digest)] for every entry of the
    archive's index. A ref.name is a full reference (domain/path:tag, as labctl writes them)."""
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile("index.json"))
    out = []
    for desc in index["manifests"]:
        name = (desc.get("annotations") or {}).get(REF_ANNOTATION)
        if not name:    # an archive of one unnamed image: skopeo takes it without a reference
            stem = os.path.basename(path).split(".")[0]
            out.append((f"library/{stem}", "latest", f"oci-archive:{path}", desc["digest"]))
            continue
        repo_end = name.rfind("/")
        colon = name.rfind(":")
        repo, tag = (name[:colon], name[colon + 1:]) if colon > repo_end else (name, "latest")
        out.append((repo.split("/", 1)[1], tag, f"oci-archive:{path}:{name}", desc["digest"]))
    return out


def registry_digest(registry, repo, tag):
    req = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{tag}", method="HEAD",
                                 headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError:
        return None


def main(images_dir, registry):
    for name in sorted(os.listdir(images_dir)):
        if not name.endswith(".tar"):
            continue
        path = os.path.join(images_dir, name)
        for repo, tag, source, want in archive_targets(path):
            ref = f"{registry}/{repo}:{tag}"
            if registry_digest(registry, repo, tag) == want:
                print(f"ok {ref} {want}")
                continue
            p = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", source,
                                f"docker://{ref}"], capture_output=True, text=True)
            if p.returncode != 0:
                print(f"pushing {path} to {ref} failed: {p.stderr.strip()}", file=sys.stderr)
                return 1
            print(f"pushed {ref} {registry_digest(registry, repo, tag) or want}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
