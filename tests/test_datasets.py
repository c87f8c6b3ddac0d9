import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading

import numpy as np
import pytest

from tinygrad_ko import datasets
from tinygrad_ko.datasets import CorruptDataError, DataUnavailableError, IdxDataset, read_idx

N_TRAIN, N_TEST = 12, 5
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def make_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {"train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
            "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
            "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
            "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8)}


def write_files(directory, arrays, compress=True):
    os.makedirs(directory, exist_ok=True)
    for stem, array in arrays.items():
        data = idx_bytes(array)
        name = stem + (".gz" if compress else "")
        with open(os.path.join(directory, name), "wb") as f:
            f.write(gzip.compress(data) if compress else data)


def tiny_dataset(**kwargs):
    return IdxDataset("tiny-mnist", kwargs.pop("base_url", "http://127.0.0.1:9/"),
                      kwargs.pop("sha256", {}), system_dirs=kwargs.pop("system_dirs", ()))


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYGRAD_KO_DATA", raising=False)
    return tmp_path


def check_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert x_train.shape == (N_TRAIN, 28, 28) and y_train.shape == (N_TRAIN,)
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


# ---- local files and search order ----

@pytest.mark.parametrize("compress", [True, False])
def test_explicit_path_gzipped_or_not(isolated_env, compress):
    arrays = make_arrays()
    write_files(isolated_env / "d", arrays, compress=compress)
    check_loaded(tiny_dataset().load_data(path=isolated_env / "d"), arrays)


def test_explicit_path_missing_files_is_an_error_not_a_fallback(isolated_env):
    write_files(isolated_env / "cache" / "tinygrad_ko" / "tiny-mnist", make_arrays())
    (isolated_env / "empty").mkdir()
    with pytest.raises(DataUnavailableError, match="lacks train-images-idx3-ubyte"):
        tiny_dataset().load_data(path=isolated_env / "empty")


def test_search_order_env_then_system_then_cache(isolated_env, monkeypatch):
    env_arrays, system_arrays, cache_arrays = make_arrays(1), make_arrays(2), make_arrays(3)
    write_files(isolated_env / "env" / "tiny-mnist", env_arrays)
    write_files(isolated_env / "system" / "tiny-mnist", system_arrays)
    write_files(isolated_env / "cache" / "tinygrad_ko" / "tiny-mnist", cache_arrays)
    dataset = tiny_dataset(system_dirs=(str(isolated_env / "system"),))
    check_loaded(dataset.load_data(), system_arrays)
    monkeypatch.setenv("TINYGRAD_KO_DATA", str(isolated_env / "env"))
    check_loaded(dataset.load_data(), env_arrays)
    check_loaded(tiny_dataset().load_data(), env_arrays)
    monkeypatch.delenv("TINYGRAD_KO_DATA")
    check_loaded(tiny_dataset().load_data(), cache_arrays)


def test_real_fashion_mnist_when_installed():
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("dataset-fashion-mnist not installed")
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data(
        path="/usr/share/datasets/fashion-mnist")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    # Keras's documented first labels of the training set (ankle boot, T-shirt, T-shirt, dress, ...)
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10


# ---- corrupt and truncated files ----

def corrupt_cases():
    good = idx_bytes(make_arrays()["train-images-idx3-ubyte"])
    return {
        "bad magic": (b"\x01" + good[1:], "not an IDX file"),
        "wrong dtype": (good[:2] + b"\x0d" + good[3:], "not an IDX file"),
        "wrong rank": (good[:3] + b"\x02" + good[4:], "rank 2, expected 3"),
        "truncated header": (good[:9], "truncated inside the IDX header"),
        "truncated payload": (good[:-7], "truncated"),
        "trailing bytes": (good + b"\0", "trailing bytes"),
    }


@pytest.mark.parametrize("case", list(corrupt_cases()))
def test_corrupt_idx_detected(tmp_path, case):
    data, message = corrupt_cases()[case]
    for name, payload in (("raw", data), ("raw.gz", gzip.compress(data))):
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(CorruptDataError, match=message):
            read_idx(str(path), ndim=3)


def test_truncated_and_bitflipped_gzip_detected(tmp_path):
    compressed = gzip.compress(idx_bytes(make_arrays()["train-images-idx3-ubyte"]))
    (tmp_path / "cut.gz").write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(CorruptDataError, match="cut.gz"):
        read_idx(str(tmp_path / "cut.gz"), ndim=3)
    flipped = bytearray(compressed)
    flipped[-6] ^= 0xFF  # inside the CRC32 trailer
    (tmp_path / "flip.gz").write_bytes(bytes(flipped))
    with pytest.raises(CorruptDataError, match="flip.gz"):
        read_idx(str(tmp_path / "flip.gz"), ndim=3)


def test_inconsistent_splits_detected(isolated_env):
    arrays = make_arrays()
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:-1]
    write_files(isolated_env / "a", arrays)
    with pytest.raises(CorruptDataError, match="12 train images but 11 labels"):
        tiny_dataset().load_data(path=isolated_env / "a")
    arrays = make_arrays()
    arrays["t10k-labels-idx1-ubyte"][0] = 10
    write_files(isolated_env / "b", arrays)
    with pytest.raises(CorruptDataError, match="label 10 outside 0..9"):
        tiny_dataset().load_data(path=isolated_env / "b")


# ---- downloading from a local server ----

@contextlib.contextmanager
def serve(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def served_files(root, arrays):
    write_files(root, arrays)
    return {stem + ".gz": hashlib.sha256((root / (stem + ".gz")).read_bytes()).hexdigest()
            for stem in arrays}


def test_download_verifies_and_caches(isolated_env, capsys):
    arrays = make_arrays()
    sha = served_files(isolated_env / "www", arrays)
    with serve(isolated_env / "www") as (url, _):
        check_loaded(tiny_dataset(base_url=url, sha256=sha).load_data(), arrays)
    assert "Downloading" in capsys.readouterr().err
    cached = isolated_env / "cache" / "tinygrad_ko" / "tiny-mnist"
    assert sorted(os.listdir(cached)) == sorted(stem + ".gz" for stem in FILES)
    umask = os.umask(0)
    os.umask(umask)
    modes = {os.stat(cached / name).st_mode & 0o777 for name in os.listdir(cached)}
    assert modes == {0o666 & ~umask}
    # the server is gone: the second load reads the cache
    check_loaded(tiny_dataset(base_url=url, sha256=sha).load_data(), arrays)


def test_download_checksum_mismatch_leaves_nothing(isolated_env):
    arrays = make_arrays()
    sha = served_files(isolated_env / "www", arrays)
    sha["train-labels-idx1-ubyte.gz"] = "0" * 64
    with serve(isolated_env / "www") as (url, _):
        with pytest.raises(CorruptDataError, match="SHA-256 mismatch"):
            tiny_dataset(base_url=url, sha256=sha).load_data()
    cached = isolated_env / "cache" / "tinygrad_ko" / "tiny-mnist"
    assert sorted(os.listdir(cached)) == ["train-images-idx3-ubyte.gz"]  # no partial, no bad file


def test_download_404_and_no_network_explain_how_to_get_data(isolated_env):
    (isolated_env / "www").mkdir()
    sha = {stem + ".gz": "0" * 64 for stem in FILES}
    with serve(isolated_env / "www") as (url, _):
        with pytest.raises(DataUnavailableError, match="404") as info:
            tiny_dataset(base_url=url, sha256=sha).load_data()
    assert "apt-get install dataset-tiny-mnist" in str(info.value)
    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(DataUnavailableError, match="TINYGRAD_KO_DATA") as info:
        tiny_dataset(base_url=closed, sha256=sha).load_data()
    assert "load_data(path=" in str(info.value) and "refused" in str(info.value).lower()
    with pytest.raises(DataUnavailableError, match="no published SHA-256"):
        tiny_dataset(base_url=closed).load_data()
    cached = isolated_env / "cache" / "tinygrad_ko" / "tiny-mnist"
    assert os.listdir(cached) == []
