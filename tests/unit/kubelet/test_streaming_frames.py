"""Framing of the streaming protocols: channel messages and Status (exec), SPDY/3.1 frames
and header blocks (port-forward)."""
import json
import os
import socket

import pytest

from labkube.kubelet.streaming import channels, spdy


def test_channel_roundtrip_and_status():
    assert channels.encode(channels.STDOUT, b"hi") == b"\x01hi"
    assert channels.decode(b"\x00abc") == (0, b"abc")
    with pytest.raises(ValueError):
        channels.decode(b"")
    ok = json.loads(channels.status_message(0)[1:])
    assert ok == {"metadata": {}, "status": "Success"}
    bad = channels.status_message(3)
    assert bad[0] == channels.ERROR
    st = json.loads(bad[1:])
    assert st["reason"] == "NonZeroExitCode" and channels.exit_code_of(st) == 3
    assert channels.exit_code_of(channels.status(None, "boom")) is None
    assert channels.parse_resize(b'{"Width":120,"Height":40}') == (120, 40)
    assert channels.parse_resize(b"nonsense") is None


def test_spdy_headers_share_one_context_per_direction():
    client, server = spdy.HeaderCodec(), spdy.HeaderCodec()
    reader = spdy.FrameReader(server)
    raw = spdy.syn_stream(client, 1, {"streamtype": "error", "port": "80", "requestid": "0"})
    raw += spdy.syn_stream(client, 3, {"streamtype": "data", "port": "80", "requestid": "0"})
    raw += spdy.data_frame(3, b"GET / HTTP/1.0\r\n\r\n", fin=True)
    frames = []
    for i in range(0, len(raw), 7):           # arbitrary splits, as websocket messages may cut
        frames += reader.feed(raw[i:i + 7])
    assert [(f.control, f.type, f.stream_id) for f in frames] == [(True, spdy.SYN_STREAM, 1),
                                                                   (True, spdy.SYN_STREAM, 3), (False, 0, 3)]
    assert frames[1].headers == {"streamtype": "data", "port": "80", "requestid": "0"}
    assert frames[2].data == b"GET / HTTP/1.0\r\n\r\n" and frames[2].fin


def test_spdy_reply_rst_and_ping_frames():
    server, client = spdy.HeaderCodec(), spdy.HeaderCodec()
    reader = spdy.FrameReader(client)
    f, = reader.feed(spdy.syn_reply(server, 5, {"x": "y"}))
    assert (f.type, f.stream_id, f.headers) == (spdy.SYN_REPLY, 5, {"x": "y"})
    f, = reader.feed(spdy.rst_stream(5, spdy.RST_CANCEL))
    assert (f.type, f.stream_id) == (spdy.RST_STREAM, 5)
    f, = reader.feed(spdy.control(spdy.PING, 0, b"\x00\x00\x00\x01"))
    assert f.type == spdy.PING and f.data == b"\x00\x00\x00\x01"
    with pytest.raises(spdy.SpdyError):
        spdy.FrameReader(spdy.HeaderCodec()).feed(b"\x80\x02\x00\x01\x00\x00\x00\x00")


@pytest.mark.skipif(os.geteuid() != 0, reason="setns needs CAP_SYS_ADMIN")
def test_dial_inside_a_network_namespace():
    """Our own netns stands in for a pod's: the socket is made there and works afterwards."""
    from labkube.kubelet.streaming.podnet import connect_in_netns
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        s = connect_in_netns("/proc/self/ns/net", srv.getsockname()[1])
        conn, _ = srv.accept()
        s.sendall(b"ping")
        assert conn.recv(4) == b"ping"
        conn.close()
        s.close()
    with pytest.raises(OSError):
        connect_in_netns("/nonexistent/netns", 1)
