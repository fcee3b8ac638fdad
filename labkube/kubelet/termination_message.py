"""Termination messages: a file per container run bind mounted at `terminationMessagePath`
(default /dev/termination-log); its content (at most 4 KiB) becomes the terminated state's
message. With `terminationMessagePolicy: FallbackToLogsOnError` an empty file on a failed
exit falls back to the last 80 lines of the container's log."""
from __future__ import annotations

import os

DEFAULT_PATH = "/dev/termination-log"
MAX_BYTES = 4096
FALLBACK_LINES = 80


def message_file(pod_dir: str, container: str, restart_count: int) -> str:
    return os.path.join(pod_dir, "containers", container, f"{restart_count}.termination-log")


def prepare(pod_dir: str, container: dict, restart_count: int) -> dict:
    """Create the (empty, world-writable) file and return the mount for it."""
    path = message_file(pod_dir, container["name"], restart_count)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    os.chmod(path, 0o666)
    return {"destination": container.get("terminationMessagePath") or DEFAULT_PATH, "source": path,
            "readonly": False}


def read_message(pod_dir: str, container: dict, restart_count: int, exit_code: int | None,
                 log_path: str = "") -> str:
    try:
        with open(message_file(pod_dir, container["name"], restart_count), "rb") as f:
            text = f.read(MAX_BYTES).decode(errors="replace")
    except OSError:
        text = ""
    if not text and exit_code not in (0, None) and \
            container.get("terminationMessagePolicy") == "FallbackToLogsOnError" and log_path:
        try:
            with open(log_path, "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 64 * 1024))
                lines = f.read().decode(errors="replace").splitlines()[-FALLBACK_LINES:]
            text = "\n".join(lines)[-MAX_BYTES:]
        except OSError:
            pass
    return text
