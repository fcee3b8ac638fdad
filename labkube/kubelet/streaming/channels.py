"""The Kubernetes remote-command channel protocol (websocket `v4.channel.k8s.io` and
`v5.channel.k8s.io`): every binary message starts with one channel byte.

    0 stdin (client -> server)      3 error: one JSON Status at the end (server -> client)
    1 stdout                        4 resize: {"Width": W, "Height": H} (client -> server)
    2 stderr                        255 close (v5 only): b"\\xff" + channel, e.g. stdin EOF

The final Status tells kubectl the exit code: Success, or NonZeroExitCode with the code in
`details.causes[0].message` (kubectl exits with it).
"""
from __future__ import annotations

import json

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def encode(channel: int, data: bytes) -> bytes:
    """One message: the channel byte then the payload."""
    if not 0 <= channel <= 255:
        raise ValueError(f"channel {channel} out of range")
    return bytes([channel]) + bytes(data)


def decode(message: bytes) -> tuple[int, bytes]:
    """(channel, payload) of one message; an empty message is an error."""
    if not message:
        raise ValueError("empty channel message")
    return message[0], bytes(message[1:])


def status(exit_code: int | None, message: str = "") -> dict:
    """The Status sent on the error channel: Success, NonZeroExitCode, or a plain Failure
    (``exit_code`` None) carrying ``message``."""
    if exit_code is None:
        return {"metadata": {}, "status": "Failure", "message": message or "internal error",
                "reason": "InternalError"}
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: {exit_code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}


def status_message(exit_code: int | None, message: str = "") -> bytes:
    return encode(ERROR, json.dumps(status(exit_code, message), separators=(",", ":")).encode())


def exit_code_of(st: dict) -> int | None:
    """The exit code a client derives from a Status (0 on Success, None when unknown)."""
    if st.get("status") == "Success":
        return 0
    for cause in ((st.get("details") or {}).get("causes") or []):
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return None


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(columns, rows) from a resize message, None when malformed."""
    try:
        doc = json.loads(payload)
        w, h = int(doc.get("Width", 0)), int(doc.get("Height", 0))
    except (ValueError, TypeError, AttributeError):
        return None
    return (w, h) if w > 0 and h > 0 else None


async def send(ws, message: bytes) -> None:
    """Send one frame to the client unless it is gone (a closed or reset socket is the client
    leaving, not an error of the session)."""
    if not ws.closed:
        try:
            await ws.send_bytes(message)
        except (ConnectionResetError, RuntimeError):
            pass
