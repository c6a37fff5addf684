"""MNIST loading: IDX parsing, checks, search order and the download path (against a
local HTTP server on 127.0.0.1 serving generated files)."""
import gzip
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from gandyn import data
from gandyn.data import IdxFile, load_mnist, parse_idx, read_idx

from _mnist_dir import HAVE_MNIST, SHARED
N = 12


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, written independently of the parser."""
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.tobytes()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def make_files(rng, n_train=N, n_test=5):
    """Generated image/label files for both splits: ``{name: raw bytes}`` and the specs."""
    blobs, specs = {}, {}
    for split, n, stem in (("train", n_train, "train"), ("test", n_test, "t10k")):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, arr, name in (("images", imgs, f"{stem}-images-idx3-ubyte"),
                                ("labels", labs, f"{stem}-labels-idx1-ubyte")):
            raw = idx_bytes(arr)
            gz = gzip.compress(raw, mtime=0)
            blobs[name] = (raw, gz, arr)
            specs[(split, kind)] = IdxFile(name, arr.shape, sha(gz), sha(raw))
    return blobs, specs


@pytest.fixture
def files(tmp_path):
    return make_files(np.random.default_rng(0))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No GANDYN_DATA, and a cache folder inside tmp_path."""
    monkeypatch.delenv("GANDYN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def write(folder: Path, blobs, gz=True, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (raw, gzb, _) in blobs.items():
        if names is None or name in names:
            (folder / (name + ".gz" if gz else name)).write_bytes(gzb if gz else raw)


# --- parsing and checks


def test_parse_idx_round_trip():
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(arr), (2, 3, 4)), arr)


@pytest.mark.parametrize("gz", [True, False])
def test_read_good_file(tmp_path, files, gz):
    blobs, specs = files
    write(tmp_path, blobs, gz=gz)
    spec = specs[("train", "images")]
    got = read_idx(tmp_path / (spec.name + (".gz" if gz else "")), spec)
    np.testing.assert_array_equal(got, blobs[spec.name][2])


def test_wrong_magic(isolated, files):
    tmp_path = isolated
    blobs, specs = files
    write(tmp_path, blobs, gz=False)
    spec = specs[("train", "labels")]
    raw = bytearray(blobs[spec.name][0])
    raw[3] = 3  # 0x00000803, an images header where labels (0x00000801) are expected
    with pytest.raises(ValueError, match="3 dimensions, expected 1"):
        parse_idx(bytes(raw), spec.shape)
    raw[2] = 0x0D  # float type code
    p = tmp_path / spec.name
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="bad magic number 0x00000d03"):
        read_idx(p)
    with pytest.raises(ValueError, match="bad magic number 0x00000d03"):
        load_mnist("train", tmp_path, download=False,
                   files={**specs, ("train", "labels"): IdxFile(spec.name, spec.shape, "", sha(bytes(raw)))})


@pytest.mark.parametrize("cut", [1, 100, 700])
def test_truncated(tmp_path, files, cut):
    blobs, specs = files
    spec = specs[("train", "images")]
    raw = blobs[spec.name][0][:-cut]
    p = tmp_path / spec.name
    p.write_bytes(raw)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    # truncated gzip stream: rejected by gzip before any parsing
    pg = tmp_path / (spec.name + ".gz")
    pg.write_bytes(blobs[spec.name][1][:-cut])
    with pytest.raises(ValueError, match="gzip|truncated"):
        read_idx(pg)


def test_trailing_bytes(tmp_path, files):
    blobs, specs = files
    spec = specs[("train", "labels")]
    p = tmp_path / spec.name
    p.write_bytes(blobs[spec.name][0] + b"\x00")
    with pytest.raises(ValueError, match="trailing"):
        read_idx(p)


@pytest.mark.parametrize("gz", [True, False])
def test_bad_checksum(tmp_path, files, gz):
    blobs, specs = files
    spec = specs[("test", "labels")]
    good = IdxFile(spec.name, spec.shape, spec.gz_sha256, spec.raw_sha256)
    bad = IdxFile(spec.name, spec.shape, "0" * 64, "0" * 64)
    write(tmp_path, blobs, gz=gz)
    p = tmp_path / (spec.name + (".gz" if gz else ""))
    read_idx(p, good)
    with pytest.raises(ValueError, match="SHA-256"):
        read_idx(p, bad)


def test_corrupt_file_is_never_used(isolated, files):
    """A flipped pixel keeps the IDX structure valid; only the digest catches it."""
    blobs, specs = files
    d = isolated / "d"
    write(d, blobs, gz=False)
    p = d / specs[("train", "images")].name
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="SHA-256"):
        load_mnist("train", d, download=False, files=specs)


# --- search order


def test_load_generated(isolated, files):
    blobs, specs = files
    d = isolated / "d"
    write(d, blobs)
    x, y = load_mnist("train", d, download=False, files=specs)
    assert x.shape == (N, 784) and x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, blobs["train-images-idx3-ubyte"][2].reshape(N, 784))
    np.testing.assert_array_equal(y, blobs["train-labels-idx1-ubyte"][2])


def test_search_order(isolated, monkeypatch):
    """data_dir, then GANDYN_DATA, then the cache: each holds a different dataset."""
    sets = {k: make_files(np.random.default_rng(i)) for i, k in enumerate(["arg", "env", "cache"])}
    dirs = {"arg": isolated / "arg", "env": isolated / "env", "cache": isolated / "xdg" / "gandyn" / "mnist"}
    monkeypatch.setenv("GANDYN_DATA", str(dirs["env"]))
    assert data.search_dirs(dirs["arg"]) == [dirs["arg"], dirs["env"], dirs["cache"]]
    for k in ("cache", "env", "arg"):
        write(dirs[k], sets[k][0])
        blobs, specs = sets[k]
        x, _ = load_mnist("test", dirs["arg"], download=False, files=specs)
        np.testing.assert_array_equal(x, blobs["t10k-images-idx3-ubyte"][2].reshape(-1, 784))


def test_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "gandyn" / "mnist"


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid")


# --- download against a local server


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 in a thread; set ``routes`` {path: bytes}."""
    handler = type("H", (_Handler,), {"routes": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield handler.routes, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    t.join()


def test_download(isolated, files, server):
    blobs, specs = files
    routes, url = server
    for name, (_, gz, _) in blobs.items():
        routes[f"/good/{name}.gz"] = gz
    x, y = load_mnist("train", mirrors=[url + "/missing/", url + "/good/"], files=specs, progress=False)
    cache = isolated / "xdg" / "gandyn" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(y, blobs["train-labels-idx1-ubyte"][2])
    # second call reads the cache, no server needed
    routes.clear()
    x2, _ = load_mnist("train", files=specs, download=False)
    np.testing.assert_array_equal(x, x2)


def test_download_goes_to_data_dir(isolated, files, server):
    blobs, specs = files
    routes, url = server
    for name, (_, gz, _) in blobs.items():
        routes[f"/{name}.gz"] = gz
    d = isolated / "mine"
    load_mnist("test", d, mirrors=[url], files=specs, progress=False)
    assert (d / "t10k-images-idx3-ubyte.gz").is_file()


def test_corrupt_download_skipped(isolated, files, server):
    """Mirror 1 serves a corrupt (then a truncated) copy: never written; mirror 2's good copy is used."""
    blobs, specs = files
    routes, url = server
    for name, (_, gz, _) in blobs.items():
        bad = bytearray(gz)
        bad[len(bad) // 2] ^= 0x55
        routes[f"/bad/{name}.gz"] = bytes(bad)
        routes[f"/short/{name}.gz"] = gz[:-10]
        routes[f"/good/{name}.gz"] = gz
    x, _ = load_mnist("test", mirrors=[url + "/bad/", url + "/short/", url + "/good/"], files=specs,
                      progress=False)
    np.testing.assert_array_equal(x, blobs["t10k-images-idx3-ubyte"][2].reshape(-1, 784))


def test_only_corrupt_mirrors(isolated, files, server):
    blobs, specs = files
    routes, url = server
    for name, (_, gz, _) in blobs.items():
        routes[f"/{name}.gz"] = gz[:-10]
    with pytest.raises(FileNotFoundError, match="SHA-256 mismatch"):
        load_mnist("test", mirrors=[url], files=specs, progress=False)
    cache = isolated / "xdg" / "gandyn" / "mnist"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline(isolated, files):
    """Nothing listens on the port: one line saying where to put the files."""
    _, specs = files
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(FileNotFoundError) as e:
        load_mnist("train", isolated / "here", mirrors=[f"http://127.0.0.1:{port}/"], files=specs,
                   progress=False, timeout=2)
    msg = str(e.value)
    assert "\n" not in msg and f"put the four MNIST files (gzipped or raw) in {isolated / 'here'}" in msg


def test_download_disabled(isolated, files):
    _, specs = files
    with pytest.raises(FileNotFoundError, match="downloads disabled"):
        load_mnist("train", files=specs, download=False)


# --- the real files


@pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST not found ($GANDYN_DATA or ../shared/data/mnist)")
def test_real_mnist(isolated):
    x, y = load_mnist("test", SHARED, download=False)
    assert x.shape == (10000, 784) and y.shape == (10000,)
    # the first test digits are 7, 2, 1, 0, 4 (LeCun's t10k file)
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y, minlength=10).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST not found ($GANDYN_DATA or ../shared/data/mnist)")
def test_real_mnist_raw_copy(isolated):
    """A decompressed copy passes the raw digests recorded in gandyn.data.FILES."""
    d = isolated / "raw"
    d.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (d / name).write_bytes(gzip.decompress((SHARED / (name + ".gz")).read_bytes()))
    x, y = load_mnist("test", d, download=False)
    x_gz, y_gz = load_mnist("test", SHARED, download=False)
    np.testing.assert_array_equal(x, x_gz)
    np.testing.assert_array_equal(y, y_gz)
