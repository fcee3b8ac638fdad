"""The busybox image's `wget` takes the timeout options of the Docker Hub image's wget.

The script is taken from the rendered image layer and run against loopback servers with the
host's busybox (the same Debian binary the image carries)."""
from __future__ import annotations

import http.server
import io
import socket
import subprocess
import tarfile
import threading

import pytest

from labctl.images.busybox import BUSYBOX, WGET_PATH, busybox_rootfs


@pytest.fixture(scope="module")
def wget(tmp_path_factory):
    layer = tarfile.open(fileobj=io.BytesIO(busybox_rootfs(BUSYBOX).render()))
    member = layer.getmember(WGET_PATH)
    assert member.isfile() and member.mode & 0o111
    path = tmp_path_factory.mktemp("bb") / "wget"
    path.write_bytes(layer.extractfile(member).read())
    return str(path)


@pytest.fixture(scope="module")
def web():
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello from loopback\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def silent():
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def run(wget, *args):
    return subprocess.run([BUSYBOX, "sh", wget, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("options", [
    ["-qO-"],
    ["-T", "5", "-qO-"],
    ["-T5", "-q", "-O-"],
    ["--timeout=5", "-qO-"],
    ["--timeout", "5", "-q", "-O", "-"],
])
def test_fetches_with_or_without_a_timeout(wget, web, options):
    done = run(wget, *options, web)
    assert (done.returncode, done.stdout) == (0, "hello from loopback\n"), done.stderr


@pytest.mark.parametrize("options", [["-T", "1"], ["--timeout=1"], ["--spider", "-T1"]])
def test_a_server_that_never_answers_times_out_as_upstream_wget(wget, silent, options):
    done = run(wget, *options, "-q", "-O-", silent)
    assert done.returncode == 1
    assert done.stderr.strip() == "wget: download timed out"


def test_other_failures_keep_wgets_own_exit_and_message(wget, silent):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()
    done = run(wget, "-T", "3", "-qO-", closed)
    assert done.returncode == 1
    assert "Connection refused" in done.stderr
