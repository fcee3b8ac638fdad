"""SPDY/3.1 framing, just what Kubernetes streaming needs (port-forward, exec fallback).

    control frame: 1 | version(15)=3 | type(16) | flags(8) | length(24) | data
    data frame:    0 | stream id(31) | flags(8) | length(24) | data

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib streams preset with the SPDY
dictionary; each direction of a connection keeps ONE compression context across frames
(a sync flush ends every block). `FrameReader` turns a byte stream into frames;
`HeaderCodec` packs and unpacks header blocks.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .spdydict import DICTIONARY

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN, FLAG_UNIDIRECTIONAL = 0x01, 0x02
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL = 1, 2, 3, 5
MAX_FRAME = 1 << 24


class SpdyError(Exception):
    pass


@dataclass
class Frame:
    control: bool
    type: int = 0                 # control frame type (0 for data frames)
    flags: int = 0
    stream_id: int = 0
    data: bytes = b""
    headers: dict = field(default_factory=dict)   # decoded header block, if any

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class HeaderCodec:
    """One compression context per direction, as SPDY/3 requires."""

    def __init__(self) -> None:
        self._out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                     zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._in = zlib.decompressobj(zdict=DICTIONARY)

    def pack(self, headers: dict) -> bytes:
        raw = [struct.pack(">I", len(headers))]
        for name, value in headers.items():
            n, v = name.lower().encode(), (value if isinstance(value, str) else "\0".join(value)).encode()
            raw += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
        return self._out.compress(b"".join(raw)) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def unpack(self, block: bytes) -> dict:
        try:
            raw = self._in.decompress(block)
        except zlib.error as e:
            raise SpdyError(f"bad header block: {e}") from None
        try:
            (count,), pos, out = struct.unpack_from(">I", raw), 4, {}
            for _ in range(count):
                (ln,) = struct.unpack_from(">I", raw, pos)
                name = raw[pos + 4:pos + 4 + ln].decode()
                pos += 4 + ln
                (lv,) = struct.unpack_from(">I", raw, pos)
                out[name] = raw[pos + 4:pos + 4 + lv].decode()
                pos += 4 + lv
        except (struct.error, UnicodeDecodeError) as e:
            raise SpdyError(f"bad header block: {e}") from None
        return out


def control(ftype: int, flags: int, payload: bytes) -> bytes:
    if len(payload) >= MAX_FRAME:
        raise SpdyError("frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, ftype, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    if len(data) >= MAX_FRAME:
        raise SpdyError("frame too large")
    return struct.pack(">II", stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data


def syn_stream(codec: HeaderCodec, stream_id: int, headers: dict, fin: bool = False) -> bytes:
    body = struct.pack(">IIH", stream_id & 0x7FFFFFFF, 0, 0) + codec.pack(headers)
    return control(SYN_STREAM, FLAG_FIN if fin else 0, body)


def syn_reply(codec: HeaderCodec, stream_id: int, headers: dict | None = None, fin: bool = False) -> bytes:
    body = struct.pack(">I", stream_id & 0x7FFFFFFF) + codec.pack(headers or {})
    return control(SYN_REPLY, FLAG_FIN if fin else 0, body)


def rst_stream(stream_id: int, status: int) -> bytes:
    return control(RST_STREAM, 0, struct.pack(">II", stream_id & 0x7FFFFFFF, status))


def goaway(last_stream_id: int, status: int = 0) -> bytes:
    return control(GOAWAY, 0, struct.pack(">II", last_stream_id & 0x7FFFFFFF, status))


class FrameReader:
    """Feed bytes in any pieces; take complete frames out."""

    def __init__(self, codec: HeaderCodec):
        self.codec = codec
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            (length,) = struct.unpack_from(">I", self.buf, 4)
            flags, length = length >> 24, length & 0xFFFFFF
            if len(self.buf) < 8 + length:
                break
            head, payload = bytes(self.buf[:8]), bytes(self.buf[8:8 + length])
            del self.buf[:8 + length]
            out.append(self._frame(head, flags, payload))
        return out

    def _frame(self, head: bytes, flags: int, payload: bytes) -> Frame:
        first, second = struct.unpack_from(">HH", head)
        if not first & 0x8000:
            (sid,) = struct.unpack_from(">I", head)
            return Frame(False, 0, flags, sid & 0x7FFFFFFF, payload)
        if first & 0x7FFF != VERSION:
            raise SpdyError(f"unsupported SPDY version {first & 0x7FFF}")
        ftype, f = second, Frame(True, second, flags)
        if ftype in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM, WINDOW_UPDATE) and len(payload) >= 4:
            f.stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
        if ftype == SYN_STREAM:
            f.headers = self.codec.unpack(payload[10:])
        elif ftype in (SYN_REPLY, HEADERS):
            f.headers = self.codec.unpack(payload[4:])
        else:
            f.data = payload
        return f
