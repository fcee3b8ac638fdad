"""What the clients that apply some pod watch lines without decoding them whole share: the
markers of the apiserver's line shape (`{"type":...,"object":{` ... `,"status":{...}}}`, the
managedFields list right before metadata's resourceVersion), the cut of a line into its parts
(`parts`: the scheduler's StatusLines and the hollow kubelets' LineReader), the decode of a
line's status tail or trailing members, and the decode of a line without its managedFields
content (`decode_cut`, the fallback before a whole decode). Each reader decides on its own which
lines it may apply; everything here answers None when the text is not of the expected shape, and
the caller then decodes the line whole.

Kept in the readers, on purpose (each reader must keep declining exactly the lines it declined,
so that its odd lines take the same fallback; tests/unit/client/test_watchlines_readers.py pins
the readers against whole decodes over one table of odd lines):
- the controller-manager's `podlines.prefix`: it takes the first `"managedFields":[` of the line
  and the `,"resourceVersion":"` after its first `]` (or the first resourceVersion), needs no
  status tail and cuts up to the `,"spec":{` after it, where `parts` wants one resourceVersion
  before the last `,"status":{`; over the test's 3,684 line variants the two disagree on 158.
- the binding echo's node name: the scheduler takes any name without `"`, a backslash or control bytes
  that is UTF-8 (the JSON string's value as written), the hollow reader printable ASCII but
  space, `"` and a backslash (a regex); either form for both would change which echoes each decodes.
- the fingerprint maps (head -> cached view, key -> head, at most LIMIT): the scheduler's
  pending map refuses new entries when full where the others drop the oldest, the
  controller-manager's is an OrderedDict, and the entries differ; a shared class would add a
  call per line for a few lines of dict work each.
"""
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


def parts(line: bytes, start: int) -> tuple[str, int, int, int, int] | None:
    """(resourceVersion, managedFields content start (-1: none), its end, resourceVersion value
    end, status tail start (-1: none)) of an event line whose object's text starts at `start`,
    or None when the line is not of the shape the scheduler's and the hollow kubelets' readers
    take: it ends with `}}`; the tail is the last `,"status":{` (if any); before it there is
    exactly one `"resourceVersion":"`, whose value is digits; and if there is a
    `"managedFields":[` before the tail, the first one starts before that resourceVersion and the
    list's first `]` is the one right before `,"resourceVersion":"` (a `]` in a string or a
    nested list, or another member between the two, declines). Each reader adds its own checks
    (the scheduler: a tail, one managedFields marker only)."""
    if not line.endswith(b"}}"):
        return None
    st = line.rfind(STATUS, start)
    end = st if st >= 0 else len(line)
    v = line.find(RV, start, end)
    if v < 0 or line.find(RV, v + 1, end) >= 0:
        return None
    v0 = v + len(RV)
    v1 = line.find(b'"', v0, end)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    if not rv.isdigit():
        return None
    m = line.find(MANAGED, start, end)
    if m < 0:
        return rv.decode(), -1, -1, v1, st
    m += len(MANAGED)
    # the list's first "]" must be the one right before ',"resourceVersion":"'
    if m > v or line.find(b"]", m, v) != v - 2 or line[v - 1] != 44:
        return None
    return rv.decode(), m, v - 2, v1, st


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
