"""Inventory API: patterns, merged host vars, magic vars, errors naming file and line."""
import pytest

from labctl.inventory import InventoryError, load_inventory
from labctl.inventory.ranges import expand_hostname

from pathlib import Path

CASES = Path(__file__).parent / "cases"


@pytest.fixture
def inv():
    return load_inventory(CASES / "yaml_basic")


@pytest.mark.parametrize("pattern,expected", [
    ("all", ["lonely", "m1-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]),
    ("masters", ["m1-k8s"]),
    ("masters:workers", ["m1-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]),
    ("masters,w1-k8s", ["m1-k8s", "w1-k8s"]),
    ("k8s:!masters", ["w1-k8s", "w2-k8s", "w3-k8s"]),
    ("k8s:&workers", ["w1-k8s", "w2-k8s", "w3-k8s"]),
    ("w*-k8s", ["w1-k8s", "w2-k8s", "w3-k8s"]),
    ("~w[12]", ["w1-k8s", "w2-k8s"]),
    ("workers[0]", ["w1-k8s"]),
    ("workers[1:]", ["w2-k8s", "w3-k8s"]),
    ("ungrouped", ["lonely"]),
    ("nosuch", []),
])
def test_patterns(inv, pattern, expected):
    assert inv.match(pattern) == expected


def test_limit(inv):
    assert inv.match("all", limit="workers:!w2-k8s") == ["w1-k8s", "w3-k8s"]


def test_host_vars_magic_and_precedence(inv):
    hv = inv.host_vars("w2-k8s")
    assert hv["inventory_hostname"] == "w2-k8s"
    assert hv["group_names"] == ["k8s", "workers"]
    assert hv["groups"]["workers"] == ["w1-k8s", "w2-k8s", "w3-k8s"]
    assert hv["ansible_host"] == "10.200.0.12"       # host_vars/ file without extension
    assert hv["y"] == "workers_dir"                  # group_vars/workers.yml beats group_vars/all/
    assert hv["x"] == "from_k8s_inv"                 # deeper group beats all
    assert hv["z"] == 1                              # group_vars/all/ directory of files


@pytest.mark.parametrize("name,expected", [
    ("w[1:3]-k8s", ["w1-k8s", "w2-k8s", "w3-k8s"]),
    ("n[08:10]", ["n08", "n09", "n10"]),
    ("x[a:c]", ["xa", "xb", "xc"]),
    ("r[0:4:2]", ["r0", "r2", "r4"]),
    ("a[1:2]b[1:2]", ["a1b1", "a1b2", "a2b1", "a2b2"]),
])
def test_ranges(name, expected):
    assert expand_hostname(name) == expected


@pytest.mark.parametrize("files,needle", [
    ({"hosts.yml": "all:\n  hosts:\n    - a\n"}, "hosts.yml:2"),
    ({"hosts.yml": "all:\n  children:\n    m:\n      hostz: {}\n"}, "unknown key 'hostz'"),
    ({"hosts.yml": "all:\n  hosts:\n    a: [\n"}, "hosts.yml:"),
    ({"hosts.yml": "all:\n  hosts:\n    a:\n", "group_vars/all.yml": "- 1\n"}, "all.yml: variables file must be a mapping"),
    ({"hosts": "[m]\na x\n"}, "hosts:2: expected key=value"),
    ({"hosts": "[m:foo]\n"}, "hosts:1"),
    ({"hosts": "[a:children]\nb\n[b:children]\na\n"}, "group loop"),
    ({"hosts.yml": "all:\n  hosts:\n    'w[3:1]':\n"}, "after end"),
])
def test_errors_are_one_line_with_location(tmp_path, files, needle):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    with pytest.raises(InventoryError) as ei:
        load_inventory(tmp_path)
    msg = str(ei.value)
    assert needle in msg and "\n" not in msg


def test_missing_inventory(tmp_path):
    with pytest.raises(InventoryError, match="not found"):
        load_inventory(tmp_path / "nope")


def test_host_list_string():
    inv = load_inventory("a,b,")
    assert inv.match("all") == ["a", "b"]
