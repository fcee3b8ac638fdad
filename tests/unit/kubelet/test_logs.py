"""Log reading: tail, limit, timestamps from the stamp index, since, previous file choice."""
from __future__ import annotations

import os

from labkube.kubelet.logs import LogStamper, log_files, render


def test_render_options(tmp_path):
    p = tmp_path / "0.log"
    p.write_bytes(b"one\ntwo\nthree\n")
    assert render(str(p))[0] == b"one\ntwo\nthree\n"
    assert render(str(p), tail_lines=2)[0] == b"two\nthree\n"
    assert render(str(p), tail_lines=0)[0] == b""
    assert render(str(p), limit_bytes=5)[0] == b"one\nt"
    data, end = render(str(p), start=4)
    assert data == b"two\nthree\n" and end == 14


def test_timestamps_and_since_from_index(tmp_path):
    p = tmp_path / "0.log"
    p.write_bytes(b"early\n")
    stamper = LogStamper(lambda: [str(p)])
    stamper.tick(now=1_000_000_000.0)
    with open(p, "ab") as f:
        f.write(b"late\n")
    stamper.tick(now=1_000_000_100.0)
    stamper.tick(now=1_000_000_200.0)        # no growth: no new entry
    assert len(open(str(p) + ".ts").read().splitlines()) == 2
    out = render(str(p), timestamps=True)[0].decode().splitlines()
    assert out == ["2001-09-09T01:46:40.000000000Z early", "2001-09-09T01:48:20.000000000Z late"]
    assert render(str(p), since=1_000_000_050.0)[0] == b"late\n"


def test_log_files_sorted_by_restart(tmp_path):
    d = tmp_path / "logs" / "main"
    d.mkdir(parents=True)
    for n in ("10", "2", "0"):
        (d / f"{n}.log").write_text(n)
    (d / "2.log.ts").write_text("")
    assert [os.path.basename(f) for f in log_files(str(tmp_path), "main")] == ["0.log", "2.log", "10.log"]


def test_rotation_keeps_one_old_file(tmp_path):
    p = tmp_path / "0.log"
    p.write_bytes(b"x" * 100 + b"\n")
    stamper = LogStamper(lambda: [str(p)], max_bytes=50)
    stamper.tick(now=1.0)
    assert p.read_bytes() == b"" and (tmp_path / "0.log.1").read_bytes() == b"x" * 100 + b"\n"
    with open(p, "ab") as f:
        f.write(b"after\n")
    stamper.tick(now=2.0)
    assert render(str(p))[0] == b"after\n"
    assert [os.path.basename(f) for f in log_files(str(tmp_path / ".."), "x")] == []
