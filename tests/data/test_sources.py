"""Tests for the data sources of sbn_mcu.data: npz, image folders, CSV and IDX folders, the shared
checks (types, labels, layouts, splits), reopen, from_arrays and read_inputs.

Every source is built in tmp_path from random arrays; the expected arrays come
from what the test wrote, never from the code under test.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sbn_mcu import data
from sbn_mcu.data import dataset as dataset_module
from sbn_mcu.ir.input_spec import InputSpec
from support import expect_error


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- builders -------------------------------------------------------------------------


def save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def small_npz(tmp_path: Path, x_shape=(6,), n_train=20, n_test=8, k=3, seed=0, **extra) -> tuple[Path, dict]:
    g = rng(seed)
    arrays = {
        "x_train": g.integers(0, 256, size=(n_train, *x_shape), dtype=np.uint8),
        "y_train": np.arange(n_train) % k,
        "x_test": g.integers(0, 256, size=(n_test, *x_shape), dtype=np.uint8),
        "y_test": (np.arange(n_test) + 1) % k,
    }
    arrays.update(extra)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    return save_npz(tmp_path / "set.npz", **arrays), arrays


def write_images(root: Path, split: str, per_class: dict, size=(5, 4), mode="L", seed=0, suffix=".png"):
    """Random images in root/split/<class>/; returns [(class, pixels)] in (class, file name) order."""
    g = rng(seed)
    written = []
    for cls in sorted(per_class):
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class[cls]):
            shape = size if mode == "L" else (*size, 3)
            pixels = g.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(folder / f"img{i:03d}{suffix}")
            written.append((cls, pixels))
    return written


def write_csv(path: Path, rows, header=None) -> Path:
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for what, arr, rank in (("images", images, 3), ("labels", labels, 1)):
        payload = idx_bytes(arr)
        name = f"{prefix}-{what}-idx{rank}-ubyte" + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(payload) if gz else payload)


# --- the registry ----------------------------------------------------------------------


def test_registry_holds_every_kind_with_detect_and_load():
    assert set(data.KINDS) == {"idx", "npz", "images", "csv"}
    for kind, source in data.KINDS.items():
        assert source.kind == kind and callable(source.detect) and callable(source.load)


def test_a_new_kind_is_one_registered_source(tmp_path, monkeypatch):
    """A kind added to KINDS is detected by open() and gets every shared check."""
    def detect(path):
        return path.suffix == ".pairs"

    def read(path, options):
        values = np.array([[int(v) for v in line.split()] for line in path.read_text().split(";")])
        return dataset_module.Parts({"train": (values[:, :-1], values[:, -1])}, {"train": str(path)})

    monkeypatch.setitem(data.KINDS, "pairs", dataset_module.Source("pairs", detect, read, "a .pairs file"))
    path = tmp_path / "d.pairs"
    path.write_text("1 2 0;3 4 1;5 6 0;7 8 1")
    ds = data.open(path, test_split=0.5)
    assert ds.source["kind"] == "pairs" and ds.dtype == "uint8" and ds.class_names == ("0", "1")
    assert sorted(ds.x_train[:, 0].tolist() + ds.x_test[:, 0].tolist()) == [1, 3, 5, 7]
    assert data.reopen(ds.source).digest() == ds.digest()


def test_importing_data_needs_neither_torch_nor_pillow():
    code = "import sys, sbn_mcu.data; print('torch' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_unknown_path_kind(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    message = expect_error("cannot tell what kind of data", data.open, path)
    assert ".npz" in message and ".csv" in message and "train/<class>" in message


def test_missing_path(tmp_path):
    expect_error("does not exist", data.open, tmp_path / "absent.npz")


def test_path_and_dataset_are_exclusive(tmp_path):
    expect_error("exactly one", data.open)
    expect_error("exactly one", data.open, tmp_path, dataset="mnist")


# --- npz ------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape,input_layout,stored,layout", [
    ((6,), None, (6,), "flat"),
    ((2, 5), None, (2, 5), "cl"),
    ((4, 3), "chw", (1, 4, 3), "chw"),
    ((3, 4, 5), None, (3, 4, 5), "chw"),
    ((4, 5, 3), "hwc", (4, 5, 3), "hwc"),
])
def test_npz_round_trip(tmp_path, x_shape, input_layout, stored, layout):
    path, arrays = small_npz(tmp_path, x_shape)
    ds = data.open(path, input_layout=input_layout)
    assert ds.layout == layout and ds.dtype == "uint8"
    assert ds.x_train.shape == (20, *stored) and ds.x_test.shape == (8, *stored)
    np.testing.assert_array_equal(ds.x_train.reshape(20, -1), arrays["x_train"].reshape(20, -1))
    np.testing.assert_array_equal(ds.x_test.reshape(8, -1), arrays["x_test"].reshape(8, -1))
    assert ds.y_train.dtype == np.int64 and ds.y_train.tolist() == arrays["y_train"].tolist()
    assert ds.y_test.tolist() == arrays["y_test"].tolist()
    assert ds.class_names == ("0", "1", "2") and ds.x_val is None
    assert ds.source["kind"] == "npz" and ds.source["path"] == str(path.resolve())
    spec = ds.spec()
    assert spec.stored_shape == stored and spec.layout == layout and spec.class_names == ds.class_names
    assert spec.check(ds.x_test).shape == (8, int(np.prod(stored)))


def test_npz_class_names_and_val_split(tmp_path):
    names = np.array(["cat", "dog", "eel"])
    g = rng(3)
    path, arrays = small_npz(tmp_path, class_names=names, x_val=g.integers(0, 9, (4, 6)), y_val=np.array([2, 1, 0, 2]))
    ds = data.open(path)
    assert ds.class_names == ("cat", "dog", "eel")
    assert ds.x_val.shape == (4, 6) and ds.y_val.tolist() == [2, 1, 0, 2]
    np.testing.assert_array_equal(ds.x_val, arrays["x_val"])
    assert ds.x_val.dtype == ds.x_train.dtype == np.uint8


def test_npz_string_labels_become_sorted_class_names(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.array(["b", "a", "c", "a"] * 5), y_test=np.array(["c", "a"] * 4))
    ds = data.open(path)
    assert ds.class_names == ("a", "b", "c")
    assert ds.y_train[:4].tolist() == [1, 0, 2, 0] and ds.y_test[:2].tolist() == [2, 0]


@pytest.mark.parametrize("drop", ["x_train", "y_train", "x_test", "y_test", "y_val"])
def test_npz_missing_array_is_named(tmp_path, drop):
    extra = {"x_val": np.zeros((2, 6), np.uint8), "y_val": np.array([0, 1])}
    path, arrays = small_npz(tmp_path, **extra)
    arrays.pop(drop)
    save_npz(path, **arrays)
    message = expect_error(drop, data.open, path)
    assert str(path) in message


def test_npz_without_test_split_says_how_to_add_one(tmp_path):
    path, _ = small_npz(tmp_path, x_test=None, y_test=None)
    message = expect_error("--test-data PATH", data.open, path)
    assert "--test-split 0.2" in message and "x_test" in message
    ds = data.open(path, test_split=0.25)
    for label, count in enumerate(np.bincount(np.arange(20) % 3)):  # a quarter of each class, rounded
        assert (ds.y_test == label).sum() == int(count * 0.25 + 0.5)
        assert (ds.y_train == label).sum() == count - int(count * 0.25 + 0.5)


def test_npz_mismatched_lengths(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.arange(19) % 3)
    expect_error("20 train examples but 19 labels", data.open, path)


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "infinite")])
def test_npz_nan_or_inf_in_floats(tmp_path, bad, word):
    x = rng().integers(0, 9, (20, 6)).astype(np.float32)
    x[3, 2] = bad
    path, _ = small_npz(tmp_path, x_train=x)
    assert str(path) in expect_error(word, data.open, path)


def test_npz_labels_outside_class_names(tmp_path):
    path, _ = small_npz(tmp_path, class_names=np.array(["a", "b", "c"]), y_test=np.array([0, 1, 3, 0, 1, 2, 0, 1]))
    expect_error(r"label 3, outside 0\.\.2", data.open, path)


def test_npz_negative_label(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.array([0, 1, -1, 2] * 5))
    expect_error("label -1", data.open, path)


def test_npz_label_not_a_whole_number(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.array([0, 1, 1.5, 2] * 5))
    expect_error("label 1.5, not a whole number", data.open, path)


def test_npz_one_class_only(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.zeros(20, int), y_test=np.zeros(8, int))
    expect_error("one class only", data.open, path)


def test_npz_empty_split(tmp_path):
    path, _ = small_npz(tmp_path, x_test=np.zeros((0, 6), np.uint8), y_test=np.zeros(0, int))
    expect_error("holds no test examples", data.open, path)


def test_npz_test_shape_differs(tmp_path):
    path, _ = small_npz(tmp_path, x_test=np.zeros((8, 7), np.uint8))
    expect_error(r"shape \(7,\) but the training examples are \(6,\)", data.open, path)


def test_npz_corrupt_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not a real archive")
    assert str(path) in expect_error("cannot read", data.open, path)


def test_npz_labels_with_two_axes(tmp_path):
    path, _ = small_npz(tmp_path, y_train=np.zeros((20, 2), int))
    expect_error(r"shape \(20, 2\)", data.open, path)


# --- the input type -------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi,expected", [(0, 200, "uint8"), (-5, 100, "int8"), (-1, 200, "int16"),
                                            (-300, 30000, "int16")])
@pytest.mark.parametrize("float_dtype", [np.float32, np.float64, np.int64])
def test_type_inference_takes_the_smallest_type(lo, hi, expected, float_dtype):
    x = np.linspace(lo, hi, 40).round().astype(float_dtype).reshape(20, 2)
    x[0, 0], x[0, 1] = lo, hi
    ds = data.from_arrays(x, np.arange(20) % 2, x[:4], np.array([0, 1, 0, 1]))
    assert ds.dtype == expected and ds.x_train.dtype == np.dtype(expected)
    np.testing.assert_array_equal(ds.x_train.astype(np.int64), x.astype(np.int64))


def test_type_inference_spans_the_test_split():
    x = np.full((4, 2), 7.0)
    ds = data.from_arrays(x, [0, 1, 0, 1], np.array([[-3.0, 7.0]]), [1])
    assert ds.dtype == "int8" and ds.x_test.tolist() == [[-3, 7]]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16])
def test_type_of_the_input_types_is_kept(dtype):
    x = np.ones((4, 3), dtype)
    assert data.from_arrays(x, [0, 1, 0, 1], x, [0, 1, 0, 1]).dtype == np.dtype(dtype).name


def test_type_beyond_int16():
    x = np.array([[0.0], [40000.0]])
    message = expect_error("beyond int16", data.from_arrays, x, [0, 1], x, [0, 1])
    assert "40000" in message


def test_type_non_integer_floats_need_quantising():
    x = np.array([[0.25], [1.0]])
    expect_error("quantise the inputs to int8 or int16", data.from_arrays, x, [0, 1], x, [0, 1])


def test_forced_type_converts_and_checks_the_range():
    x = np.array([[0, 100], [5, 127]], np.uint8)
    ds = data.from_arrays(x, [0, 1], x, [0, 1], input_type="int16")
    assert ds.dtype == "int16" and ds.x_train.tolist() == x.tolist()
    assert data.from_arrays(x, [0, 1], x, [0, 1], input_type="int8").dtype == "int8"
    message = expect_error(r"outside int8 \(-128\.\.127\)", data.from_arrays, x + 1, [0, 1], x, [0, 1],
                           input_type="int8")
    assert "128" in message
    expect_error("not supported", data.from_arrays, x, [0, 1], x, [0, 1], input_type="float32")


def test_forced_type_out_of_range_from_a_file(tmp_path):
    path, _ = small_npz(tmp_path)
    assert data.open(path, input_type="int16").dtype == "int16"
    assert str(path) in expect_error("outside int8", data.open, path, input_type="int8")


# --- digests ---------------------------------------------------------------------------


def test_digest_is_stable_and_sees_every_value(tmp_path):
    path, arrays = small_npz(tmp_path)
    first = data.open(path).digest()
    assert first == data.open(path).digest() and len(first) == 64
    seen = {first}
    for key in ("x_train", "x_test", "y_test"):
        changed = {k: v.copy() for k, v in arrays.items()}
        changed[key].flat[0] = (changed[key].flat[0] + 1) % 3
        save_npz(path, **changed)
        seen.add(data.open(path).digest())
    save_npz(path, **arrays, class_names=np.array(["a", "b", "c"]))
    seen.add(data.open(path).digest())
    assert len(seen) == 5  # each change gives a new digest
    save_npz(path, **arrays)
    assert data.open(path).digest() == first


# --- images ----------------------------------------------------------------------------


def test_gray_image_folder(tmp_path):
    train = write_images(tmp_path, "train", {"dog": 3, "cat": 4}, size=(5, 4))
    test = write_images(tmp_path, "test", {"dog": 2, "cat": 1}, size=(5, 4), seed=1)
    ds = data.open(tmp_path)
    assert ds.source["kind"] == "images" and ds.class_names == ("cat", "dog")
    assert ds.layout == "chw" and ds.dtype == "uint8"
    assert ds.x_train.shape == (7, 1, 5, 4) and ds.x_test.shape == (3, 1, 5, 4)
    np.testing.assert_array_equal(ds.x_train[:, 0], np.stack([p for _, p in train]))
    np.testing.assert_array_equal(ds.x_test[:, 0], np.stack([p for _, p in test]))
    assert ds.y_train.tolist() == [("cat", "dog").index(c) for c, _ in train]
    assert ds.y_test.tolist() == [("cat", "dog").index(c) for c, _ in test]


def test_rgb_image_folder_is_interleaved(tmp_path):
    train = write_images(tmp_path, "train", {"a": 2, "b": 2}, size=(3, 6), mode="RGB")
    write_images(tmp_path, "test", {"a": 1, "b": 1}, size=(3, 6), mode="RGB", seed=2)
    ds = data.open(tmp_path)
    assert ds.layout == "hwc" and ds.x_train.shape == (4, 3, 6, 3)
    np.testing.assert_array_equal(ds.x_train, np.stack([p for _, p in train]))
    assert ds.spec().shape == (3, 3, 6)
    chw = data.open(tmp_path, input_layout="chw")
    assert chw.layout == "chw" and chw.x_train.shape == (4, 3, 3, 6)
    np.testing.assert_array_equal(chw.x_train, np.stack([p for _, p in train]).transpose(0, 3, 1, 2))


def test_colour_forced_to_gray_matches_pillow(tmp_path):
    train = write_images(tmp_path, "train", {"a": 2, "b": 2}, mode="RGB")
    write_images(tmp_path, "test", {"a": 1}, mode="RGB", seed=4)
    ds = data.open(tmp_path, color="gray")
    expected = [np.asarray(Image.fromarray(p, "RGB").convert("L")) for _, p in train]
    assert ds.layout == "chw" and ds.x_train.shape == (4, 1, 5, 4)
    np.testing.assert_array_equal(ds.x_train[:, 0], np.stack(expected))
    expect_error("color 'blue'", data.open, tmp_path, color="blue")


def test_one_colour_image_makes_the_folder_rgb(tmp_path):
    write_images(tmp_path, "train", {"a": 2, "b": 2})
    write_images(tmp_path, "test", {"b": 1}, mode="RGB")  # the only colour image, in the test split
    ds = data.open(tmp_path)
    assert ds.layout == "hwc" and ds.x_train.shape[-1] == 3 and ds.x_test.shape == (1, 5, 4, 3)
    assert (ds.x_train[..., 0] == ds.x_train[..., 2]).all()  # the gray ones stay gray


def test_gray_folder_as_hwc(tmp_path):
    train = write_images(tmp_path, "train", {"a": 1, "b": 1})
    write_images(tmp_path, "test", {"a": 1})
    ds = data.open(tmp_path, input_layout="hwc")
    assert ds.layout == "hwc" and ds.x_train.shape == (2, 5, 4, 1)
    np.testing.assert_array_equal(ds.x_train[..., 0], np.stack([p for _, p in train]))


@pytest.mark.parametrize("suffix", [".bmp", ".jpg", ".jpeg", ".PNG"])
def test_image_suffixes(tmp_path, suffix):
    write_images(tmp_path, "train", {"a": 2, "b": 1}, suffix=suffix)
    ds = data.open(tmp_path, test_split=0.34)
    assert len(ds.x_train) + len(ds.x_test) == 3 and ds.x_train.shape[1:] == (1, 5, 4)


def test_images_of_different_sizes(tmp_path):
    write_images(tmp_path, "train", {"a": 2}, size=(5, 4))
    write_images(tmp_path, "train", {"b": 2}, size=(8, 6))
    write_images(tmp_path, "test", {"a": 1}, size=(9, 9))
    message = expect_error("every image needs the same size", data.open, tmp_path)
    assert "--image-size" in message and "img000.png" in message
    ds = data.open(tmp_path, image_size=(6, 7))
    assert ds.x_train.shape == (4, 1, 6, 7) and ds.x_test.shape == (1, 1, 6, 7)
    assert ds.source["image_size"] == [6, 7] and data.reopen(ds.source).digest() == ds.digest()


def test_resize_matches_pillow(tmp_path):
    train = write_images(tmp_path, "train", {"a": 1, "b": 1}, size=(10, 12), mode="RGB")
    write_images(tmp_path, "test", {"a": 1}, size=(10, 12), mode="RGB")
    ds = data.open(tmp_path, image_size=(4, 3))
    expected = [np.asarray(Image.fromarray(p).resize((3, 4), Image.Resampling.BILINEAR)) for _, p in train]
    np.testing.assert_array_equal(ds.x_train, np.stack(expected))


def test_corrupt_png(tmp_path):
    write_images(tmp_path, "train", {"a": 2, "b": 2})
    write_images(tmp_path, "test", {"a": 1})
    bad = tmp_path / "train" / "b" / "img001.png"
    bad.write_bytes(bad.read_bytes()[:40])
    message = expect_error("cannot read the image", data.open, tmp_path)
    assert str(bad) in message and "corrupt" in message


def test_not_an_image_at_all(tmp_path):
    write_images(tmp_path, "train", {"a": 2, "b": 2})
    (tmp_path / "train" / "a" / "zzz.png").write_text("just text")
    expect_error("zzz.png", data.open, tmp_path, test_split=0.5)


def test_test_folder_class_missing_from_train(tmp_path):
    write_images(tmp_path, "train", {"a": 2, "b": 2})
    write_images(tmp_path, "test", {"a": 1, "c": 1})
    expect_error("'c'", data.open, tmp_path)


def test_image_folder_needs_two_classes_and_images(tmp_path):
    write_images(tmp_path, "train", {"only": 3})
    expect_error("one class only", data.open, tmp_path, test_split=0.3)
    (tmp_path / "train" / "empty").mkdir()
    expect_error("holds no images", data.open, tmp_path, test_split=0.3)


def test_image_outside_a_class_folder(tmp_path):
    write_images(tmp_path, "train", {"a": 1, "b": 1})
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "train" / "loose.png")
    expect_error("not in a class folder", data.open, tmp_path, test_split=0.5)


def test_image_folder_without_test(tmp_path):
    write_images(tmp_path, "train", {"a": 3, "b": 3})
    message = expect_error("no test/ folder", data.open, tmp_path)
    assert "--test-split 0.2" in message


def test_image_test_data_folder_of_class_folders(tmp_path):
    write_images(tmp_path / "mine", "train", {"a": 2, "b": 2, "c": 1})
    test = write_images(tmp_path, "held-out", {"b": 2, "c": 1}, seed=7)
    ds = data.open(tmp_path / "mine", test_data=tmp_path / "held-out")
    assert ds.class_names == ("a", "b", "c") and ds.y_test.tolist() == [1, 1, 2]
    np.testing.assert_array_equal(ds.x_test[:, 0], np.stack([p for _, p in test]))
    assert ds.source["test_data"] == str((tmp_path / "held-out").resolve())


def test_image_test_data_of_another_size(tmp_path):
    write_images(tmp_path / "mine", "train", {"a": 2, "b": 2})
    write_images(tmp_path, "other", {"a": 1}, size=(6, 6))
    expect_error("every split needs the same example shape", data.open, tmp_path / "mine",
                 test_data=tmp_path / "other")


# --- CSV -------------------------------------------------------------------------------


def csv_table(n=12, f=4, seed=0):
    g = rng(seed)
    return g.integers(-50, 60, size=(n, f)), [("sun", "rain", "fog")[i % 3] for i in range(n)]


def test_csv_with_header_and_label_names(tmp_path):
    x, y = csv_table()
    path = write_csv(tmp_path / "train.csv", [[*row[:2], lab, *row[2:]] for row, lab in zip(x.tolist(), y)],
                     header=["f0", "f1", "label", "f2", "f3"])
    ds = data.open(path, test_split=0.25)
    assert ds.source["kind"] == "csv" and ds.class_names == ("fog", "rain", "sun")
    assert ds.layout == "flat" and ds.dtype == "int8"
    x_all = np.concatenate([ds.x_train, ds.x_test])
    y_all = np.concatenate([ds.y_train, ds.y_test])
    order = np.lexsort(x_all.T[::-1])
    expected = np.lexsort(x.T[::-1])
    np.testing.assert_array_equal(x_all[order], x[expected])
    assert [ds.class_names[i] for i in y_all[order]] == [y[i] for i in expected]


def test_csv_without_header_takes_the_last_column(tmp_path):
    x, _ = csv_table()
    labels = np.arange(12) % 4
    train = write_csv(tmp_path / "train.csv", np.column_stack([x + 50, labels]).tolist())
    test = write_csv(tmp_path / "test.csv", np.column_stack([x[:5] + 50, labels[:5]]).tolist())
    ds = data.open(train, test_data=test)
    assert ds.dtype == "uint8" and ds.class_names == ("0", "1", "2", "3")
    np.testing.assert_array_equal(ds.x_train, x + 50)
    assert ds.y_train.tolist() == labels.tolist() and ds.y_test.tolist() == labels[:5].tolist()


@pytest.mark.parametrize("label_column", ["kind", 0, -5])
def test_csv_label_column_by_name_or_index(tmp_path, label_column):
    x, y = csv_table()
    path = write_csv(tmp_path / "t.csv", [[lab, *row] for row, lab in zip(x.tolist(), y)],
                     header=["kind", "a", "b", "c", "d"])
    ds = data.open(path, label_column=label_column, test_split=0.5, seed=3)
    assert ds.class_names == ("fog", "rain", "sun") and ds.x_train.shape == (6, 4)


def test_csv_string_label_column_header_must_name_it(tmp_path):
    x, y = csv_table()
    path = write_csv(tmp_path / "t.csv", [[*row, lab] for row, lab in zip(x.tolist(), y)],
                     header=["a", "b", "c", "d", "weather"])
    message = expect_error("no label column 'species'", data.open, path, label_column="species", test_split=0.5)
    assert "weather" in message and str(path) in message
    expect_error("label column 9 is missing", data.open, path, label_column=9, test_split=0.5)


def test_csv_input_shape(tmp_path):
    x = rng().integers(0, 256, size=(10, 12))
    path = write_csv(tmp_path / "t.csv", np.column_stack([x, np.arange(10) % 2]).tolist())
    cl = data.open(path, input_shape=(3, 4), test_split=0.2)
    assert cl.layout == "cl" and cl.x_train.shape == (8, 3, 4)
    chw = data.open(path, input_shape=(3, 2, 2), test_split=0.2)
    assert chw.layout == "chw" and chw.x_train.shape == (8, 3, 2, 2)
    np.testing.assert_array_equal(chw.x_train.reshape(8, 12), cl.x_train.reshape(8, 12))
    hwc = data.open(path, input_shape=(2, 2, 3), input_layout="hwc", test_split=0.2)
    assert hwc.layout == "hwc" and hwc.spec().shape == (3, 2, 2)
    expect_error("cannot take the input shape 5x2", data.open, path, input_shape=(5, 2), test_split=0.2)


def test_csv_ragged(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,0\n3,4,1\n5,6\n7,8,0\n")
    message = expect_error("line 3 has 2 values but line 1 has 3", data.open, path, test_split=0.5)
    assert "ragged" in message and str(path) in message


def test_csv_not_a_number(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n3,x,1\n5,,0\n")
    message = expect_error("line 3 column 2 \\(b\\) holds 'x', not a number", data.open, path, test_split=0.5)
    assert str(path) in message


def test_csv_label_not_a_whole_number(tmp_path):
    path = write_csv(tmp_path / "t.csv", [[1, 2, 0], [3, 4, 1], [5, 6, 2.5]])
    expect_error("label 2.5, not a whole number", data.open, path, test_split=0.4)


def test_csv_nan_feature(tmp_path):
    path = write_csv(tmp_path / "t.csv", [[1, 2, 0], [3, "nan", 1], [5, 6, 1]])
    expect_error("NaN", data.open, path, test_split=0.4)


def test_csv_needs_a_test_split(tmp_path):
    path = write_csv(tmp_path / "t.csv", [[1, 2, 0], [3, 4, 1]])
    message = expect_error("--test-data PATH", data.open, path)
    assert "--test-split 0.2" in message and str(path) in message


def test_csv_test_data_with_an_unknown_class(tmp_path):
    train = write_csv(tmp_path / "train.csv", [[1, "cat"], [2, "dog"]], header=["x", "label"])
    test = write_csv(tmp_path / "test.csv", [[1, "cat"], [2, "emu"]], header=["x", "label"])
    assert str(test) in expect_error("'emu'", data.open, train, test_data=test)


def test_csv_test_data_with_more_classes(tmp_path):
    train = write_csv(tmp_path / "train.csv", [[1, 0], [2, 1]])
    test = write_csv(tmp_path / "test.csv", [[1, 0], [2, 2]])
    message = expect_error("training data has 2 classes", data.open, train, test_data=test)
    assert str(test) in message


def test_csv_test_data_with_other_columns(tmp_path):
    train = write_csv(tmp_path / "train.csv", [[1, 2, 0], [2, 3, 1]])
    test = write_csv(tmp_path / "test.csv", [[1, 0], [2, 1]])
    expect_error(r"shape \(1,\) but the training examples are \(2,\)", data.open, train, test_data=test)


def test_csv_tab_separated_and_empty(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\tb\tlabel\n1\t2\tx\n3\t4\ty\n5\t6\tx\n7\t8\ty\n")
    ds = data.open(path, test_split=0.5)
    assert ds.class_names == ("x", "y") and ds.x_train.shape == (2, 2)
    assert sorted(ds.x_train[:, 0].tolist() + ds.x_test[:, 0].tolist()) == [1, 3, 5, 7]
    path.write_text("\n\n")
    expect_error("is empty", data.open, path, test_split=0.5)


# --- IDX folders ------------------------------------------------------------------------


def test_idx_folder_of_any_size_and_class_count(tmp_path):
    g = rng(5)
    train_x, test_x = g.integers(0, 256, (9, 5, 7)), g.integers(0, 256, (4, 5, 7))
    train_y, test_y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0]), np.array([4, 0, 1, 2])
    write_idx(tmp_path, "train", train_x, train_y)
    write_idx(tmp_path, "t10k", test_x, test_y, gz=False)
    ds = data.open(tmp_path)
    assert ds.source["kind"] == "idx" and ds.layout == "chw" and ds.dtype == "uint8"
    assert ds.class_names == ("0", "1", "2", "3", "4")  # K = max label + 1 over both splits
    assert ds.x_train.shape == (9, 1, 5, 7) and ds.x_test.shape == (4, 1, 5, 7)
    np.testing.assert_array_equal(ds.x_train[:, 0], train_x)
    np.testing.assert_array_equal(ds.x_test[:, 0], test_x)
    assert ds.y_train.tolist() == train_y.tolist() and ds.y_test.tolist() == test_y.tolist()


def test_idx_folder_without_t10k(tmp_path):
    write_idx(tmp_path / "a", "train", rng().integers(0, 256, (6, 3, 3)), np.arange(6) % 2)
    message = expect_error("t10k-images-idx3-ubyte", data.open, tmp_path / "a")
    assert "--test-data PATH" in message
    write_idx(tmp_path / "b", "train", rng(1).integers(0, 256, (3, 3, 3)), np.array([1, 0, 1]))
    ds = data.open(tmp_path / "a", test_data=tmp_path / "b")
    assert len(ds.x_test) == 3 and ds.y_test.tolist() == [1, 0, 1]


def test_idx_folder_lacking_labels(tmp_path):
    write_idx(tmp_path, "train", np.zeros((2, 3, 3)), np.array([0, 1]))
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    expect_error("no labels file", data.open, tmp_path)


def test_idx_named_set_in_a_folder(tmp_path):
    write_idx(tmp_path, "train", rng().integers(0, 256, (10, 28, 28)), np.arange(10))
    write_idx(tmp_path, "t10k", rng(1).integers(0, 256, (3, 28, 28)), np.array([9, 0, 4]))
    ds = data.open(dataset="mnist", data_dir=tmp_path)
    assert ds.class_names == tuple(str(i) for i in range(10)) and ds.x_train.shape == (10, 1, 28, 28)
    assert ds.source["dataset"] == "mnist" and ds.source["data_dir"] == str(tmp_path.resolve())
    assert data.reopen(ds.source).digest() == ds.digest()
    expect_error("unknown dataset 'cifar'", data.open, dataset="cifar")


# --- test_split -------------------------------------------------------------------------


def test_test_split_is_seeded_and_partitions_the_examples():
    x = np.arange(100, dtype=np.uint8).reshape(50, 2)
    y = np.arange(50) % 5
    parts = dataset_module.Parts({"train": (x, y)}, {"train": "arrays"})
    source = dataset_module.Source("t", None, lambda p, o: parts, "")

    def split(seed):
        return dataset_module.assemble(source, Path("."), {"test_split": 0.2, "seed": seed})

    a, b, c = split(1), split(1), split(2)
    assert len(a.x_test) == 10 and len(a.x_train) == 40
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert a.digest() == b.digest() != c.digest()
    assert sorted(a.x_train[:, 0].tolist() + a.x_test[:, 0].tolist()) == x[:, 0].tolist()
    assert (a.y_test == a.x_test[:, 0] // 2 % 5).all()  # labels travel with their examples
    assert (np.diff(a.x_test[:, 0].astype(int)) > 0).all() and (np.diff(a.x_train[:, 0].astype(int)) > 0).all()
    assert np.bincount(a.y_test).tolist() == [2] * 5  # stratified: a fifth of each class


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, "0.2"])
def test_test_split_must_be_a_fraction(tmp_path, fraction):
    path = write_csv(tmp_path / "t.csv", [[1, 0], [2, 1], [3, 0], [4, 1]])
    expect_error("fraction between 0 and 1", data.open, path, test_split=fraction)


def test_test_split_and_test_data_are_exclusive(tmp_path):
    path = write_csv(tmp_path / "t.csv", [[1, 0], [2, 1], [3, 0], [4, 1]])
    expect_error("not both", data.open, path, test_data=path, test_split=0.5)


def test_test_split_of_a_source_with_its_own_test(tmp_path):
    path, _ = small_npz(tmp_path)
    expect_error("already holds a test split", data.open, path, test_split=0.2)
    expect_error("already holds a test split", data.open, path, test_data=path)


def test_test_split_too_small(tmp_path):
    path = write_csv(tmp_path / "t.csv", [[1, 0], [2, 1], [3, 0]])
    expect_error("too few", data.open, path, test_split=0.01)


# --- reopen -----------------------------------------------------------------------------


def _same(a, b):
    for (name, xa, ya), (_, xb, yb) in zip(a.splits(), b.splits()):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert a.class_names == b.class_names and a.layout == b.layout and a.dtype == b.dtype


def test_reopen_every_kind(tmp_path):
    npz_path, _ = small_npz(tmp_path, x_shape=(4, 4))
    write_images(tmp_path / "img", "train", {"a": 3, "b": 3}, mode="RGB")
    x = rng().integers(0, 9, (8, 6))
    csv_path = write_csv(tmp_path / "t.csv", np.column_stack([x, np.arange(8) % 2]).tolist())
    write_idx(tmp_path / "idx", "train", rng().integers(0, 256, (6, 3, 3)), np.arange(6) % 3)
    write_idx(tmp_path / "idx", "t10k", rng().integers(0, 256, (2, 3, 3)), np.array([0, 2]))
    opened = [
        data.open(npz_path, input_layout="chw", input_type="int16"),
        data.open(tmp_path / "img", test_split=0.5, seed=4, color="gray", image_size=(3, 3)),
        data.open(csv_path, test_split=0.25, seed=9, input_shape=(2, 3)),
        data.open(tmp_path / "idx"),
    ]
    import json
    for ds in opened:
        again = data.reopen(json.loads(json.dumps(ds.source)))
        _same(ds, again)
        assert again.digest() == ds.digest() and again.source == ds.source


def test_reopen_errors(tmp_path):
    expect_error("from numpy arrays", data.reopen, {"kind": "arrays"})
    expect_error("unknown here", data.reopen, {"kind": "hdf5", "path": "/x"})
    expect_error("malformed", data.reopen, {"path": "/x"})
    path, _ = small_npz(tmp_path)
    source = data.open(path).source
    path.unlink()
    expect_error("is gone", data.reopen, source)


# --- from_arrays ------------------------------------------------------------------------


def test_from_arrays():
    g = rng(8)
    x, xt, xv = g.integers(-100, 100, (10, 2, 3)), g.integers(-100, 100, (4, 2, 3)), g.integers(-9, 9, (3, 2, 3))
    ds = data.from_arrays(x, np.arange(10) % 2, xt, [1, 0, 1, 0], x_val=xv, y_val=[0, 0, 1],
                          class_names=["no", "yes"])
    assert ds.source == {"kind": "arrays"} and ds.class_names == ("no", "yes")
    assert ds.layout == "cl" and ds.dtype == "int8" and ds.x_val.dtype == np.int8
    np.testing.assert_array_equal(ds.x_test, xt)
    assert ds.y_val.tolist() == [0, 0, 1] and ds.y_val.dtype == np.int64
    flat = data.from_arrays(x.reshape(10, 6), np.arange(10) % 2, xt.reshape(4, 6), [1, 0, 1, 0], input_shape=(3, 2))
    assert flat.x_train.shape == (10, 3, 2)
    expect_error("both x_val and y_val", data.from_arrays, x, np.arange(10) % 2, xt, [1, 0, 1, 0], x_val=xv)
    expect_error("10 train examples but 9 labels", data.from_arrays, x, np.arange(9) % 2, xt, [1, 0, 1, 0])
    expect_error(r"label 2, outside 0\.\.1", data.from_arrays, x, np.arange(10) % 3, xt, [1, 0, 1, 0],
                 class_names=["no", "yes"])
    expect_error("at most 3 axes", data.from_arrays, np.zeros((2, 1, 1, 1, 1)), [0, 1], np.zeros((2, 1, 1, 1, 1)),
                 [0, 1])
    expect_error("one example per row", data.from_arrays, np.zeros(2), [0, 1], np.zeros(2), [0, 1])


# --- read_inputs and as_batch --------------------------------------------------------------


def test_read_inputs_arrays(tmp_path):
    spec = InputSpec((2, 3), "int8", "cl")
    batch = rng().integers(-128, 128, (4, 2, 3)).astype(np.int8)
    np.save(tmp_path / "b.npy", batch)
    np.save(tmp_path / "one.npy", batch[0].astype(np.int64))  # another integer dtype, in range: converted
    np.savez(tmp_path / "named.npz", inputs=batch[:2].reshape(2, 6), other=np.zeros(3))
    got = data.read_inputs([tmp_path / "b.npy", tmp_path / "one.npy", tmp_path / "named.npz"], spec)
    assert got.dtype == np.int8 and got.shape == (7, 6)
    np.testing.assert_array_equal(got, np.concatenate([batch, batch[:1], batch[:2]]).reshape(7, 6))


def test_read_inputs_refuses_floats_and_out_of_range(tmp_path):
    spec = InputSpec((3,), "uint8", "flat")
    np.save(tmp_path / "f.npy", np.zeros((2, 3), np.float32))
    assert "uint8 values" in expect_error("float32", data.read_inputs, [tmp_path / "f.npy"], spec)
    np.save(tmp_path / "big.npy", np.array([[0, 1, 256]]))
    expect_error(r"0\.\.256, outside the model's input type uint8", data.read_inputs, [tmp_path / "big.npy"], spec)
    np.save(tmp_path / "shape.npy", np.zeros((2, 4), np.uint8))
    expect_error(r"shape \(N, 3\)", data.read_inputs, [tmp_path / "shape.npy"], spec)
    expect_error("does not exist", data.read_inputs, [tmp_path / "absent.npy"], spec)
    expect_error("no inputs given", data.read_inputs, [], spec)


def test_read_inputs_csv_row(tmp_path):
    spec = InputSpec((4,), "int16", "flat")
    path = write_csv(tmp_path / "r.csv", [[-300, 0, 5, 32767]])
    got = data.read_inputs([path], spec)
    assert got.dtype == np.int16 and got.tolist() == [[-300, 0, 5, 32767]]
    write_csv(path, [[-300, 0, 5, 40000]])
    expect_error(r"whole numbers -32768\.\.32767", data.read_inputs, [path], spec)
    write_csv(path, [[1, 2, 3]])
    expect_error("one row of 4 values", data.read_inputs, [path], spec)


def test_read_inputs_images(tmp_path):
    pixels = rng().integers(0, 256, (5, 4, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(tmp_path / "c.png")
    hwc = data.read_inputs([tmp_path / "c.png"], InputSpec((3, 5, 4), "uint8", "hwc"))
    np.testing.assert_array_equal(hwc, pixels.reshape(1, -1))
    chw = data.read_inputs([tmp_path / "c.png"], InputSpec((3, 5, 4), "uint8", "chw"))
    np.testing.assert_array_equal(chw, pixels.transpose(2, 0, 1).reshape(1, -1))
    gray = data.read_inputs([tmp_path / "c.png"], InputSpec((1, 5, 4), "int16", "chw"))
    expected = np.asarray(Image.fromarray(pixels, "RGB").convert("L")).astype(np.int16)
    assert gray.dtype == np.int16
    np.testing.assert_array_equal(gray, expected.reshape(1, -1))
    expect_error("is 4x5 pixels; the model takes 5x4", data.read_inputs, [tmp_path / "c.png"],
                 InputSpec((1, 4, 5), "uint8", "chw"))
    expect_error("not an image", data.read_inputs, [tmp_path / "c.png"], InputSpec((20,), "uint8", "flat"))
    expect_error("outside the model's input type int8", data.read_inputs, [tmp_path / "c.png"],
                 InputSpec((3, 5, 4), "int8", "hwc"))


def test_read_inputs_images_match_the_image_source(tmp_path):
    """An image read for prediction is the same input the image folder gave training."""
    write_images(tmp_path, "train", {"a": 1, "b": 1}, mode="RGB")
    write_images(tmp_path, "test", {"a": 1}, mode="RGB", seed=3)
    for color in ("gray", "rgb"):
        ds = data.open(tmp_path, color=color)
        got = data.read_inputs([tmp_path / "test" / "a" / "img000.png"], ds.spec())
        np.testing.assert_array_equal(got, ds.spec().check(ds.x_test))


def test_as_batch():
    spec = InputSpec((2, 2, 3), "uint8", "hwc")
    one = np.arange(12, dtype=np.uint8).reshape(2, 3, 2)  # stored shape H, W, C
    assert data.as_batch(one, spec).shape == (1, 12)
    assert data.as_batch(np.arange(12), spec).tolist() == [list(range(12))]
    assert data.as_batch(np.zeros((5, 2, 3, 2), np.uint8), spec).shape == (5, 12)
    expect_error("outside the model's input type uint8", data.as_batch, np.full(12, 300), spec, "x")
    expect_error(r"must have shape \(N, 12\)", data.as_batch, np.zeros((2, 5), np.uint8), spec)


# --- digests of every kind ----------------------------------------------------------------


def _image_source(root: Path):
    write_images(root, "train", {"a": 2, "b": 2})
    write_images(root, "test", {"a": 1, "b": 1}, seed=1)

    def change():
        file = root / "test" / "b" / "img000.png"
        pixels = np.asarray(Image.open(file)).copy()
        pixels[0, 0] ^= 1
        Image.fromarray(pixels).save(file)
    return root, {}, change


def _csv_source(root: Path):
    rows = np.column_stack([rng().integers(0, 99, (6, 3)), np.arange(6) % 2])
    path = write_csv(root / "t.csv", rows.tolist(), header=["a", "b", "c", "label"])

    def change():
        rows[4, 1] += 1
        write_csv(path, rows.tolist(), header=["a", "b", "c", "label"])
    return path, {"test_split": 0.5}, change


def _idx_source(root: Path):
    train, test = rng().integers(0, 255, (6, 4, 4)), rng(1).integers(0, 255, (2, 4, 4))
    write_idx(root, "train", train, np.arange(6) % 3)
    write_idx(root, "t10k", test, np.array([2, 1]))

    def change():
        train[5, 3, 3] += 1
        write_idx(root, "train", train, np.arange(6) % 3)
    return root, {}, change


def _npz_source(root: Path):
    path, arrays = small_npz(root)

    def change():
        arrays["y_train"][7] = (arrays["y_train"][7] + 1) % 3
        save_npz(path, **arrays)
    return path, {}, change


@pytest.mark.parametrize("build", [_image_source, _csv_source, _idx_source, _npz_source],
                         ids=["images", "csv", "idx", "npz"])
def test_digest_of_every_kind_is_stable_until_one_value_changes(tmp_path, build):
    path, options, change = build(tmp_path)
    first = data.open(path, **options)
    second = data.open(path, **options)
    assert first.digest() == second.digest()
    change()
    assert data.open(path, **options).digest() != first.digest()


def test_test_data_npz_holding_only_the_test_arrays(tmp_path):
    path, arrays = small_npz(tmp_path, x_test=None, y_test=None)
    test = save_npz(tmp_path / "test.npz", x_test=arrays["x_train"][:3], y_test=np.array([2, 0, 1]))
    ds = data.open(path, test_data=test)
    np.testing.assert_array_equal(ds.x_test, arrays["x_train"][:3])
    assert ds.y_test.tolist() == [2, 0, 1]
    expect_error("holds no training split", data.open, test)


def test_test_data_image_folder_with_a_test_subfolder(tmp_path):
    write_images(tmp_path / "mine", "train", {"a": 2, "b": 2})
    test = write_images(tmp_path / "theirs", "test", {"b": 1}, seed=5)
    ds = data.open(tmp_path / "mine", test_data=tmp_path / "theirs")
    assert ds.y_test.tolist() == [1]
    np.testing.assert_array_equal(ds.x_test[0, 0], test[0][1])


def test_every_message_is_one_line_even_for_a_file_name_with_a_newline(tmp_path):
    folder = tmp_path / "two\nlines"
    folder.mkdir()
    path = write_csv(folder / "t.csv", [[1, 0], [2, 0]])
    message = expect_error("one class only", data.open, path, test_split=0.5)
    assert "two lines" in message
