"""What the clients that apply some pod watch lines without decoding them whole share: the
markers of the apiserver's line shape (`{"type":...,"object":{` ... `,"status":{...}}}`, the
managedFields list right before metadata's resourceVersion) and the decode of a line's trailing
members. The scheduler's StatusLines, the hollow kubelets' LineReader and the controller-manager's
PodLines each decide on their own which lines they may apply; everything here answers None when
the text is not of the expected shape, and the caller then decodes the line whole."""
from __future__ import annotations

from labkube import jsonio

MODIFIED = b'{"type":"MODIFIED","object":{'
ADDED = b'{"type":"ADDED","object":{'
SPEC = b',"spec":{'
STATUS = b',"status":{'
NODE_NAME = b',"nodeName":"'
MANAGED = b'"managedFields":['
RV = b'"resourceVersion":"'
LIMIT = 4096            # lines (pods) each reader keeps the fingerprint of


def tail_status(line: bytes, st: int) -> dict | None:
    """The object's status when `,"status":{` at `st` is its last top-level key, else None."""
    try:
        rest = jsonio.loads(b"{" + line[st + 1:-1])
    except ValueError:
        return None
    if type(rest) is not dict or len(rest) != 1 or type(rest.get("status")) is not dict:
        return None
    return rest["status"]


def decode_cut(line: bytes, m0: int, m1: int, typ: str, rv: str) -> dict | None:
    """The event of `line` decoded with `line[m0:m1]`, the content of its `"managedFields":[` list,
    cut out, when that is a `typ` event whose object's metadata holds `"managedFields":[]` and the
    resourceVersion `rv` found after the list (so the list cut was metadata's own); else None (the
    caller decodes the line whole, and raises there if it is not JSON)."""
    try:
        ev = jsonio.loads(line[:m0] + line[m1:])
    except ValueError:
        return None
    obj = ev.get("object") if type(ev) is dict else None
    if type(obj) is not dict or ev.get("type") != typ:
        return None
    md = obj.get("metadata")
    if type(md) is not dict or md.get("managedFields") != [] or md.get("resourceVersion") != rv:
        return None
    return ev


def tail_members(line: bytes, at: int, end: int = -1) -> dict | None:
    """The members from the one after the `,` at `at` to the object's end (to `end`: the
    object's closing brace), or None."""
    try:
        got = jsonio.loads(b"{" + line[at + 1:end] + b"}" if end != -1 else b"{" + line[at + 1:-1])
    except ValueError:
        return None
    return got if type(got) is dict and got else None
