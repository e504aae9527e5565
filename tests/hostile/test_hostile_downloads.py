"""Downloads from a local HTTP server on 127.0.0.1 that drips, stalls or sends too much: one deadline for
all mirrors, a size cap, and nothing left behind on a failure, Ctrl-C, SIGTERM or a full disk."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fault_kit import ENV, in_namespace, needs_mounts, nnctl, write_config
from nnctl.data.download import download
from nnctl.errors import WorkError


class Dripping(BaseHTTPRequestHandler):
    """/drip: announces 100000 bytes and sends one every 20 ms; /silent: headers, then nothing; /flood:
    300 KB without a length; /huge: announces 300 KB; /big: 200 KB at once."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.endswith("/big/train-images-idx3-ubyte.gz") or self.path == "/big":
            body = b"\x1f\x8b" + bytes(200_000)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        if self.path.startswith("/flood"):
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(bytes(300 << 10))
            return
        self.send_header("Content-Length", str(300 << 10 if self.path.startswith("/huge") else 100000))
        self.end_headers()
        if self.path.startswith("/silent") or self.path.startswith("/huge"):
            self.server.stop.wait(30)
            return
        with contextlib.suppress(OSError):
            while not self.server.stop.is_set():
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.02)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    httpd.daemon_threads = True
    httpd.requests, httpd.stop = [], threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path, reason", [
    ("drip", "not complete within the download's deadline"),
    ("silent", "timed out"),
])
def test_a_download_has_one_deadline(slow_server, tmp_path, path, reason):
    target = tmp_path / "new" / "folder"
    with pytest.raises(WorkError) as info:
        download("file.bin", [f"{slow_server.url}/{path}/"], target, {"0" * 64}, progress=False, advice="do X",
                 deadline=1.0)
    assert str(info.value) == f"could not download file.bin ({slow_server.url}/{path}/file.bin: {reason}); do X"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, reason", [
    ("flood", "more than the 10000 bytes expected; stopped reading"),
    ("huge", "the server announces 307200 bytes, more than the 10000 expected"),
])
def test_a_download_stops_at_its_size_cap(slow_server, tmp_path, path, reason):
    with pytest.raises(WorkError) as info:
        download("file.bin", [f"{slow_server.url}/{path}/"], tmp_path / "t", {"0" * 64}, progress=False,
                 advice="do X", max_bytes=10000, deadline=20.0)
    assert str(info.value) == f"could not download file.bin ({slow_server.url}/{path}/file.bin: {reason}); do X"
    assert list(tmp_path.iterdir()) == []


MNIST = """\
name: m
data: {dataset: mnist, download: true}
model: [{type: dense, units: 10}]
train: {epochs: 1, progress: false}
"""


@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_a_download_leaves_nothing_behind(slow_server, tmp_path, signum, code, line):
    config = write_config(tmp_path, MNIST)
    data = tmp_path / "data"
    env = {**ENV, "NNCTL_DATA": str(data), "HOME": str(tmp_path / "home"), "NNCTL_MIRRORS": slow_server.url + "/drip/"}
    process = subprocess.Popen(nnctl("train", str(config), "--out", str(tmp_path / "runs"), "--quiet"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not slow_server.requests:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr == line + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@needs_mounts
def test_a_full_disk_during_a_download_is_one_line_and_leaves_nothing(slow_server, tmp_path):
    config = write_config(tmp_path, MNIST)
    data = tmp_path / "data"
    data.mkdir()
    env = {**ENV, "NNCTL_DATA": str(data), "HOME": str(tmp_path / "home"), "NNCTL_MIRRORS": slow_server.url + "/big/"}
    done = in_namespace(f'mount -t tmpfs -o size=64k tmpfs "{data}"',
                        nnctl("train", str(config), "--out", str(tmp_path / "runs"), "--quiet"), data,
                        tmp_path / "after", env=env)
    assert done.returncode == 1
    assert done.stderr == (f"{data}/mnist/train-images-idx3-ubyte.gz: cannot write the download (No space left on "
                           f"device)\n")
    assert list((tmp_path / "after").iterdir()) == []
