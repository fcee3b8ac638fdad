"""Pod volumes: emptyDir, hostPath, configMap/secret files, mounts and errors."""
from __future__ import annotations

import base64
import os

import pytest

from labkube.kubelet.volumes import VolumeError, container_mounts, prepare_volumes, refresh_volumes


def test_volumes_and_mounts(tmp_path):
    host = tmp_path / "host"
    pod = {"spec": {"volumes": [
        {"name": "scratch", "emptyDir": {}},
        {"name": "h", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}},
        {"name": "cfg", "configMap": {"name": "app", "items": [{"key": "a", "path": "conf/a.txt"}]}},
        {"name": "sec", "secret": {"secretName": "pw"}}]}}
    objs = {("configmaps", "app"): {"data": {"a": "alpha", "b": "beta"}},
            ("secrets", "pw"): {"data": {"password": base64.b64encode(b"s3cret").decode()}}}
    vols = prepare_volumes(pod, str(tmp_path / "pod"), lambda k, n: objs.get((k, n)))
    assert os.path.isdir(vols["scratch"]) and os.path.isdir(host)
    assert open(os.path.join(vols["cfg"], "conf/a.txt")).read() == "alpha"
    assert not os.path.exists(os.path.join(vols["cfg"], "b"))
    assert open(os.path.join(vols["sec"], "password"), "rb").read() == b"s3cret"
    c = {"name": "c", "volumeMounts": [{"name": "scratch", "mountPath": "/data"},
                                       {"name": "cfg", "mountPath": "/etc/app", "readOnly": True}]}
    assert container_mounts(c, vols) == [
        {"destination": "/data", "source": vols["scratch"], "readonly": False},
        {"destination": "/etc/app", "source": vols["cfg"], "readonly": True}]


def test_volume_errors(tmp_path):
    with pytest.raises(VolumeError, match="not found"):
        prepare_volumes({"spec": {"volumes": [{"name": "x", "configMap": {"name": "gone"}}]}}, str(tmp_path),
                        lambda k, n: None)
    with pytest.raises(VolumeError, match="not supported"):
        prepare_volumes({"spec": {"volumes": [{"name": "x", "nfs": {"server": "s"}}]}}, str(tmp_path))
    with pytest.raises(VolumeError, match="has no volume"):
        container_mounts({"name": "c", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}, {})
    optional = prepare_volumes({"spec": {"volumes": [{"name": "x", "configMap": {"name": "gone", "optional": True}}]}},
                               str(tmp_path), lambda k, n: None)
    assert os.path.isdir(optional["x"])


def test_termination_message(tmp_path):
    from labkube.kubelet import termination_message as tm
    c = {"name": "c", "terminationMessagePolicy": "FallbackToLogsOnError"}
    m = tm.prepare(str(tmp_path), c, 0)
    assert m["destination"] == "/dev/termination-log" and os.path.exists(m["source"])
    log = tmp_path / "0.log"
    log.write_text("a\nb\nlast words\n")
    assert tm.read_message(str(tmp_path), c, 0, 1, str(log)) == "a\nb\nlast words"
    assert tm.read_message(str(tmp_path), c, 0, 0, str(log)) == ""          # success: no fallback
    open(m["source"], "w").write("explicit")
    assert tm.read_message(str(tmp_path), c, 0, 1, str(log)) == "explicit"
    assert tm.prepare(str(tmp_path), {"name": "d", "terminationMessagePath": "/tmp/msg"}, 2)["destination"] == "/tmp/msg"


def test_downward_api_and_projected(tmp_path):
    pod = {"metadata": {"name": "web", "namespace": "shop", "labels": {"b": "2", "a": "1"},
                        "annotations": {"note": "x"}},
           "spec": {"volumes": [
               {"name": "info", "downwardAPI": {"items": [
                   {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                   {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                   {"path": "note", "fieldRef": {"fieldPath": "metadata.annotations['note']"}}]}},
               {"name": "all", "projected": {"sources": [
                   {"configMap": {"name": "app"}},
                   {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
                   {"serviceAccountToken": {"path": "token"}}]}}]}}
    vols = prepare_volumes(pod, str(tmp_path),
                           lambda k, n: {"token": "t"} if k == "serviceaccounttokens" else {"data": {"k": "v"}})
    assert open(os.path.join(vols["info"], "labels")).read() == 'a="1"\nb="2"\n'
    assert open(os.path.join(vols["info"], "name")).read() == "web"
    assert open(os.path.join(vols["info"], "note")).read() == "x"
    assert sorted(os.listdir(vols["all"])) == ["k", "ns", "token"]


def test_refresh_follows_the_objects(tmp_path):
    """A running pod's configMap/secret volumes follow changed, added and removed keys; the
    directory (the bind mount's source) stays the same, files are replaced, not rewritten."""
    pod = {"spec": {"volumes": [{"name": "cfg", "configMap": {"name": "app"}},
                                {"name": "sec", "secret": {"secretName": "pw", "defaultMode": 0o400}},
                                {"name": "scratch", "emptyDir": {}}]}}
    objs = {("configmaps", "app"): {"data": {"a": "1", "b": "2"}},
            ("secrets", "pw"): {"data": {"p": base64.b64encode(b"old").decode()}}}
    fetch = lambda k, n: objs.get((k, n))   # noqa: E731
    vols = prepare_volumes(pod, str(tmp_path), fetch)
    inode = os.stat(os.path.join(vols["cfg"], "a")).st_ino
    assert refresh_volumes(pod, str(tmp_path), fetch) == []
    objs[("configmaps", "app")] = {"data": {"a": "1", "c": "3"}}
    objs[("secrets", "pw")] = {"data": {"p": base64.b64encode(b"new").decode()}}
    assert refresh_volumes(pod, str(tmp_path), fetch) == ["cfg", "sec"]
    assert sorted(os.listdir(vols["cfg"])) == ["a", "c"]
    assert os.stat(os.path.join(vols["cfg"], "a")).st_ino == inode          # unchanged file left alone
    assert open(os.path.join(vols["sec"], "p"), "rb").read() == b"new"
    assert os.stat(os.path.join(vols["sec"], "p")).st_mode & 0o777 == 0o400
    del objs[("configmaps", "app")]                                         # gone: last content stays
    assert refresh_volumes(pod, str(tmp_path), fetch) == []
    assert sorted(os.listdir(vols["cfg"])) == ["a", "c"]


def _claim_pod(read_only=False):
    return {"metadata": {"name": "p", "namespace": "shop"},
            "spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "www", "readOnly": read_only}}]}}


def _bound(volume="pv1", phase="Bound", deleting=False):
    md = {"name": "www", "namespace": "shop", **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
    return {"metadata": md, "spec": {"volumeName": volume}, "status": {"phase": phase}}


@pytest.mark.parametrize("claim,pv,error", [
    (None, None, 'persistentvolumeclaim "www" not found'),
    ({"metadata": {"name": "www"}, "spec": {}, "status": {"phase": "Pending"}}, None,
     'persistentvolumeclaim "www" not bound'),
    (_bound(deleting=True), None, 'persistentvolumeclaim "www" is being deleted'),
    (_bound(), None, 'persistentvolume "pv1" of claim "www" not found'),
    (_bound(), {"spec": {"nfs": {"server": "s", "path": "/"}, "capacity": {"storage": "1Gi"}}},
     r"persistentvolume pv1 of type \['nfs'\] is not supported by this kubelet \(only hostPath and local\)"),
])
def test_claim_volume_errors(tmp_path, claim, pv, error):
    from labkube.kubelet.volumes import VolumeNotReady
    objs = {("persistentvolumeclaims", "shop/www"): claim, ("persistentvolumes", "pv1"): pv}
    with pytest.raises(VolumeError, match=error) as e:
        prepare_volumes(_claim_pod(), str(tmp_path / "pod"), lambda k, n: objs.get((k, n)))
    assert isinstance(e.value, VolumeNotReady) is ("not bound" in error)      # only that one is worth waiting for


@pytest.mark.parametrize("source,read_only", [
    ("hostPath", False), ("hostPath", True), ("local", False)])
def test_claim_volume_mounts_the_bound_volume(tmp_path, source, read_only):
    from labkube.kubelet.volumes import read_only_volumes
    target = tmp_path / "volumes" / "pv1"
    if source == "local":
        target.mkdir(parents=True)                     # local volumes exist beforehand
        spec = {"local": {"path": str(target)}}
    else:
        spec = {"hostPath": {"path": str(target), "type": "DirectoryOrCreate"}}
    objs = {("persistentvolumeclaims", "shop/www"): _bound(), ("persistentvolumes", "pv1"): {"spec": spec},
            ("persistentvolumeclaims", "default/www"): None}       # same claim name elsewhere: not this one
    pod = _claim_pod(read_only)
    vols = prepare_volumes(pod, str(tmp_path / "pod"), lambda k, n: objs.get((k, n)))
    assert vols == {"data": str(target)} and target.is_dir()
    c = {"name": "c", "volumeMounts": [{"name": "data", "mountPath": "/usr/share/nginx/html"}]}
    assert container_mounts(c, vols, read_only_volumes(pod)) == [
        {"destination": "/usr/share/nginx/html", "source": str(target), "readonly": read_only}]
