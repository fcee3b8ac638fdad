"""Container log files: reading (tailLines, sinceSeconds, timestamps, limitBytes, follow)
and the time index that gives lines their timestamps.

Containers write straight into `<pod dir>/logs/<container>/<restart>.log` (the file is
their stdout+stderr, so logging survives kubelet restarts), which carries no times.
While a container runs, `LogStamper` notes every second how far the file has grown
(`<log>.ts`: "<offset> <unix time>" lines); a line's time is the first note at or past
its end. Times are therefore accurate to about a second.
"""
from __future__ import annotations

import asyncio
import bisect
import datetime
import os
import time


def log_files(pod_dir: str, container: str) -> list[str]:
    """The container's log files, oldest restart first."""
    d = os.path.join(pod_dir, "logs", container)
    try:
        names = [n for n in os.listdir(d) if n.endswith(".log") and n[:-4].isdigit()]
    except OSError:
        return []
    return [os.path.join(d, n) for n in sorted(names, key=lambda n: int(n[:-4]))]


def load_index(path: str) -> tuple[list[int], list[float]]:
    offs, times = [], []
    try:
        with open(path + ".ts") as f:
            for line in f:
                o, _, t = line.partition(" ")
                try:
                    offs.append(int(o))
                    times.append(float(t))
                except ValueError:
                    pass
    except OSError:
        pass
    return offs, times


def stamp(ts: float) -> str:
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def split_lines(data: bytes, start: int = 0) -> list[tuple[int, bytes]]:
    """[(end offset, line incl. newline)] for data beginning at file offset ``start``."""
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        out.append((start + end, data[pos:end]))
        pos = end
    return out


def line_times(lines: list[tuple[int, bytes]], index: tuple, default: float) -> list[float]:
    offs, times = index
    out = []
    for end, _ in lines:
        i = bisect.bisect_left(offs, end)
        out.append(times[i] if i < len(times) else default)
    return out


def render(path: str, *, tail_lines: int | None = None, since: float | None = None,
           timestamps: bool = False, limit_bytes: int | None = None, start: int = 0) -> tuple[bytes, int]:
    """The selected part of a log file and the offset it ends at (for following)."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
            mtime = os.fstat(f.fileno()).st_mtime
    except OSError:
        return b"", start
    lines = split_lines(data, start)
    if since is not None or timestamps:
        times = line_times(lines, load_index(path), mtime)
    else:
        times = [0.0] * len(lines)
    pairs = list(zip(lines, times))
    if since is not None:
        pairs = [p for p in pairs if p[1] >= since]
    if tail_lines is not None:
        pairs = pairs[-tail_lines:] if tail_lines > 0 else []
    out = b"".join((stamp(t).encode() + b" " if timestamps else b"") + line for (_, line), t in pairs)
    if limit_bytes is not None:
        out = out[:limit_bytes]
    return out, start + len(data)


def rotate(path: str) -> None:
    """copytruncate: keep the old content as `<log>.1` and empty the live file. The container's
    fd is O_APPEND, so its next write lands at the new end (a few bytes may be lost in between)."""
    with open(path, "rb") as src, open(path + ".1", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.truncate(path, 0)
    if os.path.exists(path + ".ts"):
        os.replace(path + ".ts", path + ".1.ts")


class LogStamper:
    """Every second, note the size of each running container's log (see module docstring),
    and rotate logs that grew past `max_bytes` (Kubernetes' containerLogMaxSize is 10Mi)."""

    def __init__(self, running_logs, interval: float = 1.0, max_bytes: int = 10 << 20):
        self.running_logs = running_logs        # callable -> iterable of log paths
        self.interval = interval
        self.max_bytes = max_bytes
        self.sizes: dict[str, int] = {}

    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        paths = list(self.running_logs())
        for gone in set(self.sizes) - set(paths):
            del self.sizes[gone]
        for path in paths:
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if size > self.max_bytes:
                rotate(path)
                self.sizes.pop(path, None)
                continue
            if size != self.sizes.get(path):
                if path not in self.sizes:
                    offs, _ = load_index(path)
                    if offs and offs[-1] == size:
                        self.sizes[path] = size
                        continue
                self.sizes[path] = size
                with open(path + ".ts", "a") as f:
                    f.write(f"{size} {now:.6f}\n")

    async def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - never stop stamping
                pass
            await asyncio.sleep(self.interval)
