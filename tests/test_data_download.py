"""Downloads against a local HTTP server on 127.0.0.1 (a free port), started and stopped per test."""

import dataclasses
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from nnctl.data import load_splits, mnist, validate_data_config
from nnctl.data.download import download, mirror_list
from nnctl.errors import WorkError

BODY = b"nnctl test payload " * 100
BODY_SHA = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves `server.routes`: path -> (body, announced length); anything else is a 404."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, announced = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(body)  # a shorter body than announced ends with the connection closing

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A running server: `server.add(path, body, announced=None)`, `server.url`, `server.requests`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.requests = {}, []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.add = lambda path, body, announced=None: httpd.routes.__setitem__(
        path, (body, len(body) if announced is None else announced))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_download_checks_the_hash_and_leaves_only_the_file(server, tmp_path):
    server.add("/a/file.bin", BODY)
    path = download("file.bin", [server.url + "/a/"], tmp_path / "target", {BODY_SHA}, progress=True)
    assert path == tmp_path / "target" / "file.bin"
    assert path.read_bytes() == BODY
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    server.add("/a/file.bin", BODY)
    target = tmp_path / "target"
    with pytest.raises(WorkError) as info:
        download("file.bin", [server.url + "/a/"], target, {"0" * 64}, progress=False)
    assert str(info.value) == (f"could not download file.bin ({server.url}/a/file.bin: checksum mismatch "
                               f"(SHA-256 {BODY_SHA})); place the file in {target} yourself or set "
                               "NNCTL_MIRRORS to a working mirror")
    assert list(tmp_path.iterdir()) == []        # no file, no partial file, not the folder it made


def test_truncated_transfer_leaves_nothing(server, tmp_path):
    server.add("/a/file.bin", BODY, announced=len(BODY) + 1000)
    target = tmp_path / "target"
    with pytest.raises(WorkError) as info:
        download("file.bin", [server.url + "/a/"], target, {BODY_SHA}, progress=False, advice="do X")
    assert str(info.value) == (f"could not download file.bin ({server.url}/a/file.bin: transfer cut short after "
                               f"{len(BODY)} of {len(BODY) + 1000} bytes); do X")
    assert list(tmp_path.iterdir()) == []


def test_falls_back_to_the_second_mirror_after_a_404(server, tmp_path):
    server.add("/second/file.bin", BODY)
    mirrors = [server.url + "/first/", server.url + "/second/"]
    path = download("file.bin", mirrors, tmp_path, {BODY_SHA}, progress=False)
    assert path.read_bytes() == BODY
    assert server.requests == ["/first/file.bin", "/second/file.bin"]


def test_every_mirror_failing_lists_each_reason(server, tmp_path):
    with pytest.raises(WorkError) as info:
        download("file.bin", [server.url + "/x/", server.url + "/y/"], tmp_path, {BODY_SHA}, progress=False,
                 advice="do X")
    assert str(info.value) == (f"could not download file.bin ({server.url}/x/file.bin: HTTP 404 Not Found; "
                               f"{server.url}/y/file.bin: HTTP 404 Not Found); do X")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_removes_the_folders_it_created_and_only_those(server, tmp_path):
    kept = tmp_path / "kept"
    (kept / "other").mkdir(parents=True)
    for target_dir in (tmp_path / "new" / "deeper", kept / "fresh", kept / "other"):
        with pytest.raises(WorkError):
            download("file.bin", [server.url + "/x/"], target_dir, {BODY_SHA}, progress=False)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["kept", "kept/other"]


def test_mirror_list_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("NNCTL_MIRRORS", raising=False)
    assert mirror_list(("http://a/x", "http://b/y/")) == ["http://a/x/", "http://b/y/"]
    monkeypatch.setenv("NNCTL_MIRRORS", " http://c/z , file:///srv/mnist ")
    assert mirror_list(("http://a/x",)) == ["http://c/z/", "file:///srv/mnist/"]


# ------------------------------------------------------------------------------ through the mnist dataset

@pytest.fixture
def fake_mnist_mirror(server, fake_mnist, monkeypatch, data_env):
    """Serve the fake set at /mnist/, and make those files the expected ones for `mnist`."""
    for name, data in fake_mnist["files"].items():
        server.add(f"/mnist/{name}", data)
    hashes = {name: frozenset({hashlib.sha256(data).hexdigest()}) for name, data in fake_mnist["files"].items()}
    collection = dataclasses.replace(mnist.COLLECTIONS["mnist"], sha256=hashes)
    monkeypatch.setitem(mnist.COLLECTIONS, "mnist", collection)
    monkeypatch.setenv("NNCTL_MIRRORS", server.url + "/mnist/")
    return server


def test_mnist_downloads_into_nnctl_data_and_loads(fake_mnist_mirror, fake_mnist, data_env, tmp_path):
    cfg = validate_data_config({"dataset": "mnist", "val_size": 0, "normalize": "none", "flatten": False})
    splits = load_splits(cfg, np.random.SeedSequence(0), tmp_path, progress=False)
    folder = data_env["nnctl_data"] / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(fake_mnist["files"])
    for name, data in fake_mnist["files"].items():
        assert (folder / name).read_bytes() == data
    arrays = fake_mnist["arrays"]
    np.testing.assert_array_equal(splits.train[0][:, 0], arrays["train-images-idx3-ubyte"] / np.float32(255))
    np.testing.assert_array_equal(splits.train[1], np.arange(6))
    np.testing.assert_array_equal(splits.test[1], [7, 8, 9])
    assert splits.input_shape == (1, 4, 5)


def test_mnist_downloads_into_the_home_cache_without_nnctl_data(fake_mnist_mirror, data_env, tmp_path, monkeypatch):
    monkeypatch.delenv("NNCTL_DATA")
    cfg = validate_data_config({"dataset": "mnist"})
    load_splits(cfg, np.random.SeedSequence(0), tmp_path, progress=False)
    assert len(list((data_env["home"] / ".cache" / "nnctl" / "mnist").glob("*.gz"))) == 4


def test_only_missing_files_are_fetched(fake_mnist_mirror, fake_mnist, data_env, tmp_path, put_files):
    present = {name: data for name, data in fake_mnist["files"].items() if name.startswith("train")}
    put_files(data_env["nnctl_data"] / "mnist", present)
    load_splits(validate_data_config({"dataset": "mnist"}), np.random.SeedSequence(0), tmp_path, progress=False)
    assert fake_mnist_mirror.requests == ["/mnist/t10k-images-idx3-ubyte.gz", "/mnist/t10k-labels-idx1-ubyte.gz"]


def test_a_failed_mnist_download_says_what_to_do(server, data_env, tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_MIRRORS", server.url + "/nothing/")
    with pytest.raises(WorkError) as info:
        load_splits(validate_data_config({"dataset": "mnist"}), np.random.SeedSequence(0), tmp_path, progress=False)
    target = data_env["nnctl_data"] / "mnist"
    assert str(info.value) == (f"could not download train-images-idx3-ubyte.gz ({server.url}/nothing/"
                               f"train-images-idx3-ubyte.gz: HTTP 404 Not Found); put the mnist files in {target} "
                               "(or point data.path or NNCTL_DATA at a copy), or set NNCTL_MIRRORS to a working mirror")
    assert not target.exists()                   # the folder the download created went with it
