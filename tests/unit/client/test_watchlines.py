"""The shared pieces of the pod line readers: the trailing members of a watch line decoded,
or None whenever the text is not of the shape asked for."""
import pytest

from labkube.client.watchlines import STATUS, tail_members, tail_status

LINE = b'{"type":"MODIFIED","object":{"metadata":{"name":"a"},"spec":{"x":1},"status":{"phase":"Running"}}}'


@pytest.mark.parametrize("line, want", [
    (LINE, {"phase": "Running"}),
    (b'{"type":"MODIFIED","object":{"metadata":{},"status":{}}}', {}),
    # status is not the last member
    (b'{"type":"MODIFIED","object":{"metadata":{},"status":{"phase":"x"},"spec":{}}}', None),
    # status not an object
    (b'{"type":"MODIFIED","object":{"metadata":{},"status":"x"}}', None),
    # broken text after the marker
    (b'{"type":"MODIFIED","object":{"metadata":{},"status":{"phase":}}}', None),
])
def test_tail_status_is_the_last_member_or_none(line, want):
    assert tail_status(line, line.rfind(STATUS)) == want


@pytest.mark.parametrize("at_marker, end, want", [
    (b',"spec":{', -1, {"spec": {"x": 1}, "status": {"phase": "Running"}}),
    (b',"status":{', -1, {"status": {"phase": "Running"}}),
    # up to the object's closing brace given: the members before it
    (b',"spec":{', LINE.rfind(STATUS) + 0, {"spec": {"x": 1}}),
])
def test_tail_members_from_a_comma_to_the_end(at_marker, end, want):
    assert tail_members(LINE, LINE.find(at_marker), end) == want


def test_tail_members_declines_empty_and_broken_text():
    assert tail_members(b'{"type":"ADDED","object":{"a":1}}', len(b'{"type":"ADDED","object":{"a":1') - 0) is None
    assert tail_members(b'{"object":{"a":1,"b":}}', len(b'{"object":{"a":1')) is None


MF = b'{"type":"ADDED","object":{"metadata":{"name":"a","managedFields":[{"manager":"m"}],"resourceVersion":"7"},"spec":{}}}'
M0 = MF.find(b'"managedFields":[') + len(b'"managedFields":[')
M1 = MF.find(b"]", M0)


@pytest.mark.parametrize("line, m0, m1, typ, rv, want", [
    (MF, M0, M1, "ADDED", "7",
     {"type": "ADDED", "object": {"metadata": {"name": "a", "managedFields": [], "resourceVersion": "7"}, "spec": {}}}),
    (MF, M0, M1, "MODIFIED", "7", None),            # another event type
    (MF, M0, M1, "ADDED", "8", None),               # not the resourceVersion found after the list
    (MF, M0, M1 - 1, "ADDED", "7", None),           # a cut that leaves broken JSON
    # the cut list is not metadata's last word: a later managedFields member keeps a list
    (MF.replace(b'"resourceVersion":"7"', b'"resourceVersion":"7","managedFields":[1]'), M0, M1, "ADDED", "7", None),
])
def test_decode_cut_only_when_the_cut_list_was_metadatas_own(line, m0, m1, typ, rv, want):
    from labkube.client.watchlines import decode_cut
    assert decode_cut(line, m0, m1, typ, rv) == want
