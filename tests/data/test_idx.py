"""Tests for sbn_mcu.data's IDX reader and the named sets: parsing, loading and one-line errors.

The other data sources (npz, images, CSV, IDX folders) are in test_sources.py.
"""

import gzip
from pathlib import Path

import numpy as np
import pytest

from sbn_mcu import data
from sbn_mcu.data import idx
from support import expect_error


def idx_bytes(arr: np.ndarray, dtype_code: int = 0x08) -> bytes:
    """Encode a uint8 array as IDX: two zero bytes, dtype, ndim, big-endian dims."""
    header = bytes([0, 0, dtype_code, arr.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write(path: Path, payload: bytes, gz: bool) -> Path:
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def make_dataset(directory: Path, prefix: str, n: int = 5, gz: bool = True, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10 if labels is None else np.asarray(labels, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write(directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return images, labels


# --- read_idx ---------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 28, 28), (2, 3, 4, 5)])
def test_read_idx_round_trip(tmp_path, gz, shape):
    arr = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    out = idx.read_idx(write(tmp_path / "x-ubyte", idx_bytes(arr), gz))
    assert out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(out, arr)


def test_read_idx_detects_gzip_by_magic_not_suffix(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_without_suffix = write(tmp_path / "plain-name", idx_bytes(arr), gz=True)
    raw_with_suffix = write(tmp_path / "looks-compressed.gz", idx_bytes(arr), gz=False)
    np.testing.assert_array_equal(idx.read_idx(gz_without_suffix), arr)
    np.testing.assert_array_equal(idx.read_idx(raw_with_suffix), arr)


def test_read_idx_missing_file(tmp_path):
    expect_error("cannot read", idx.read_idx, tmp_path / "nope")


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_wrong_magic(tmp_path, gz):
    payload = b"\x01\x00" + idx_bytes(np.zeros(4, np.uint8))[2:]
    expect_error("bad magic", idx.read_idx, write(tmp_path / "f", payload, gz))


def test_read_idx_too_short_for_magic(tmp_path):
    expect_error("bad magic", idx.read_idx, write(tmp_path / "f", b"\x00", gz=False))


@pytest.mark.parametrize("code", [0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_read_idx_wrong_dtype_code(tmp_path, code):
    payload = idx_bytes(np.zeros(4, np.uint8), dtype_code=code)
    expect_error("0x08", idx.read_idx, write(tmp_path / "f", payload, gz=False))


@pytest.mark.parametrize("ndim", [0, 5])
def test_read_idx_bad_ndim(tmp_path, ndim):
    payload = bytes([0, 0, 8, ndim]) + b"\x00\x00\x00\x01" * ndim + b"\x00"
    expect_error("dimensions", idx.read_idx, write(tmp_path / "f", payload, gz=False))


def test_read_idx_huge_declared_shape(tmp_path):
    payload = bytes([0, 0, 8, 4]) + b"\xff\xff\xff\xff" * 4 + b"\x00"
    expect_error("truncated", idx.read_idx, write(tmp_path / "f", payload, gz=False))


def test_read_idx_truncated_header(tmp_path):
    payload = bytes([0, 0, 8, 3]) + b"\x00\x00\x00\x02"
    expect_error("header", idx.read_idx, write(tmp_path / "f", payload, gz=False))


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_truncated_payload(tmp_path, gz):
    payload = idx_bytes(np.zeros((2, 3), np.uint8))[:-1]
    expect_error("truncated", idx.read_idx, write(tmp_path / "f", payload, gz))


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_trailing_bytes(tmp_path, gz):
    payload = idx_bytes(np.zeros((2, 3), np.uint8)) + b"\x00"
    expect_error("trailing bytes", idx.read_idx, write(tmp_path / "f", payload, gz))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[: len(b) // 2],  # cut short: EOFError
        lambda b: b[:10] + b"\xff" * (len(b) - 10),  # garbage deflate stream: zlib.error
        lambda b: b[:2] + b"\x07" + b[3:],  # unknown compression method: BadGzipFile
    ],
    ids=["cut-short", "bad-deflate", "bad-header"],
)
def test_read_idx_corrupt_gzip(tmp_path, mangle):
    good = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "broken.gz"
    path.write_bytes(mangle(good))
    message = expect_error("corrupt gzip", idx.read_idx, path)
    assert str(path) in message


# --- load -------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("split,prefix", [("train", "train"), ("test", "t10k")])
def test_load_round_trip(tmp_path, gz, split, prefix):
    images, labels = make_dataset(tmp_path, prefix, n=12, gz=gz)
    got_images, got_labels = data.load("mnist", split, data_dir=tmp_path)
    assert got_images.shape == (12, 28, 28) and got_images.dtype == np.uint8
    assert got_labels.shape == (12,) and got_labels.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_load_accepts_mixed_gz_and_raw(tmp_path):
    images, labels = make_dataset(tmp_path, "t10k", gz=True)
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(idx_bytes(labels))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    got_images, got_labels = data.load("fashion-mnist", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_load_unknown_dataset():
    message = expect_error("unknown dataset", data.load, "cifar10", "train")
    assert "fashion-mnist" in message and "mnist" in message


def test_load_unknown_split(tmp_path):
    message = expect_error("unknown split", data.load, "mnist", "validation", tmp_path)
    assert "train" in message and "test" in message


def test_load_missing_data_dir(tmp_path):
    message = expect_error("does not exist", data.load, "mnist", "train", tmp_path / "absent")
    assert "--data-dir" in message


def test_load_missing_file(tmp_path):
    make_dataset(tmp_path, "train")
    message = expect_error("not found", data.load, "mnist", "test", tmp_path)
    assert "t10k-images-idx3-ubyte" in message and "--data-dir" in message


@pytest.mark.parametrize(
    "dataset,hint",
    [("fashion-mnist", "apt-get install dataset-fashion-mnist"), ("mnist", "--data-dir PATH")],
)
def test_load_missing_default_dir_hint(tmp_path, monkeypatch, dataset, hint):
    monkeypatch.setitem(data.DEFAULT_DIRS, dataset, tmp_path / "not-installed")
    message = expect_error("does not exist", data.load, dataset, "train")
    assert hint in message and "--data-dir" in message


def test_load_missing_default_file_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(data.DEFAULT_DIRS, "fashion-mnist", tmp_path)
    message = expect_error("not found", data.load, "fashion-mnist", "train")
    assert "sudo apt-get install dataset-fashion-mnist" in message


def test_load_labels_out_of_range(tmp_path):
    make_dataset(tmp_path, "train", n=3, labels=[0, 10, 2])
    expect_error("label 10", data.load, "mnist", "train", tmp_path)


def test_load_count_mismatch(tmp_path):
    make_dataset(tmp_path, "train", n=4)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(3, np.uint8)), gz=True)
    expect_error("4 images but .* 3 labels", data.load, "mnist", "train", tmp_path)


def test_load_images_not_3d(tmp_path):
    make_dataset(tmp_path, "train", n=2)
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros((2, 784), np.uint8)), gz=True)
    expect_error(r"expected \(N, H, W\)", data.load, "mnist", "train", tmp_path)


def test_load_any_image_size(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, size=(4, 9, 13), dtype=np.uint8)
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.array([0, 9, 3, 3])), gz=True)
    got_images, got_labels = data.load("mnist", "train", tmp_path)
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.tolist() == [0, 9, 3, 3]


def test_load_labels_not_1d(tmp_path):
    make_dataset(tmp_path, "train", n=2)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros((2, 1), np.uint8)), gz=True)
    expect_error(r"expected \(N,\)", data.load, "mnist", "train", tmp_path)


def test_load_corrupt_file_in_dataset(tmp_path):
    make_dataset(tmp_path, "train", n=2)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    expect_error("corrupt gzip", data.load, "mnist", "train", tmp_path)


# --- real Debian files (installed here and in CI; deliberately not skipped) --


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_load_debian_fashion_mnist(split, n):
    images, labels = data.load("fashion-mnist", split)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10


FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def test_open_debian_fashion_mnist():
    ds = data.open(dataset="fashion-mnist")
    images, labels = data.load("fashion-mnist", "test")
    assert ds.class_names == FASHION_NAMES and ds.layout == "chw" and ds.dtype == "uint8"
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_test[:, 0], images)
    assert ds.y_test.dtype == np.int64 and (ds.y_test == labels).all()
    assert ds.source["kind"] == "idx" and ds.source["dataset"] == "fashion-mnist"
    assert ds.spec().shape == (1, 28, 28) and ds.spec().class_names == FASHION_NAMES


def test_open_named_set_uses_its_default_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(data.DEFAULT_DIRS, "mnist", tmp_path)
    train, _ = make_dataset(tmp_path, "train", n=10)
    make_dataset(tmp_path, "t10k", n=3)
    ds = data.open(dataset="mnist")
    assert ds.class_names == tuple(str(i) for i in range(10))
    np.testing.assert_array_equal(ds.x_train[:, 0], train)
    monkeypatch.setitem(data.DEFAULT_DIRS, "mnist", tmp_path / "absent")
    assert "--data-dir" in expect_error("does not exist", data.open, dataset="mnist")


def test_data_dir_goes_with_a_named_set(tmp_path):
    expect_error("--data-dir goes with a named --dataset", data.open, tmp_path, data_dir=tmp_path)


def test_a_folder_of_mnist_files_is_detected_as_idx(tmp_path):
    make_dataset(tmp_path, "train", n=10, gz=False)
    make_dataset(tmp_path, "t10k", n=4, gz=False)
    ds = data.open(tmp_path)
    assert ds.source["kind"] == "idx" and ds.class_names == tuple(str(i) for i in range(10))
    assert ds.x_train.shape == (10, 1, 28, 28) and ds.y_test.tolist() == [0, 1, 2, 3]
