"""Reading a store directly (labkube.storage.reader and `python -m labkube.storage`)."""
import json

from labkube.storage import SqliteStorage, reader
from labkube.storage.__main__ import main


async def test_inspect_while_open(tmp_path, capsys):
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    await s.create("/registry/pods/default/web", {"metadata": {"name": "web"}})
    await s.create("/registry/pods/kube-system/dns", {"metadata": {"name": "dns"}})
    rev = await s.create("/registry/namespaces/default", {"metadata": {"name": "default"}})
    assert [k for k, _ in reader.keys(path, "/registry/pods/")] == ["/registry/pods/default/web",
                                                                     "/registry/pods/kube-system/dns"]
    obj, r = reader.get(path, "/registry/namespaces/default")
    assert obj["metadata"] == {"name": "default", "resourceVersion": str(rev)} and r == rev
    assert reader.get(path, "/registry/nope") is None and reader.revision(path) == rev
    assert main(["ls", path, "/registry/pods/default/"]) == 0
    assert capsys.readouterr().out.startswith("/registry/pods/default/web\t")
    assert main(["get", path, "/registry/pods/default/web"]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["name"] == "web"
    assert main(["get", path, "/registry/pods/default/nope"]) == 1
    assert main(["rev", str(tmp_path / "missing.db")]) == 2
    await s.close()
