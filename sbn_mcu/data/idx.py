"""IDX data (the MNIST file format) from local files, with numpy only.

Two ways in: the named sets (:data:`DATASETS`, ``dataset="fashion-mnist"``)
from their default folder or ``--data-dir``, and any folder holding
``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]`` (and
optionally the ``t10k-`` pair for the test split), of any image size and
class count. The toolchain never downloads anything: training must work
offline and in CI, so the data comes from files already on disk (the Debian
package ``dataset-fashion-mnist``, or any directory given). Every problem is
reported as one ``SbnError`` line that says how to fix it, because the CLI
prints that line instead of a traceback.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import SbnError
from .dataset import Parts, Source

# Where the named datasets live when no --data-dir is given. Only Fashion-MNIST
# has a Debian package; the MNIST entry exists so the error message can say so.
DEFAULT_DIRS = {
    "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
    "mnist": Path("/usr/share/datasets/mnist"),
}
DATASETS = tuple(DEFAULT_DIRS)  # the CLI's choices
CLASS_NAMES = {
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "mnist": tuple(str(i) for i in range(10)),
}

SPLITS = {"train": "train", "test": "t10k"}  # split name -> IDX file prefix

_GZIP_MAGIC = b"\x1f\x8b"
_UINT8_CODE = 0x08
_NUM_CLASSES = 10  # of the named sets


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzip-compressed or raw) into a uint8 array.

    Compression is detected from the gzip magic bytes rather than the suffix,
    since people often gunzip files and keep the name, or the other way round.
    The payload must match the header exactly: a truncated or padded file is
    almost always a broken download, and silently using it would train on junk.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise SbnError(f"cannot read {path}: {reason}; check the path and its permissions") from exc

    if blob[:2] == _GZIP_MAGIC:
        try:
            blob = gzip.decompress(blob)
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
            raise SbnError(f"{path} is a corrupt gzip file ({exc}); delete it and fetch it again") from exc

    if len(blob) < 4 or blob[:2] != b"\x00\x00":
        raise SbnError(f"{path} is not an IDX file (bad magic number); point at the original *-ubyte files")
    dtype_code, ndim = blob[2], blob[3]
    if dtype_code != _UINT8_CODE:
        raise SbnError(
            f"{path} has IDX data type 0x{dtype_code:02x}, only 0x08 (uint8) is supported; "
            "use the original *-ubyte files"
        )
    if not 1 <= ndim <= 4:
        raise SbnError(f"{path} declares {ndim} dimensions, expected 1 to 4; the file is corrupt, fetch it again")

    header_len = 4 + 4 * ndim
    if len(blob) < header_len:
        raise SbnError(f"{path} is truncated inside its IDX header; the file is corrupt, fetch it again")
    shape = tuple(int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # exact Python int: a bogus header cannot overflow it
    actual = len(blob) - header_len
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise SbnError(
            f"{path} {problem}: header {shape} needs {expected} data bytes, found {actual}; "
            "the file is corrupt, fetch it again"
        )
    # Copy so callers get a writable array, not a read-only view of the bytes.
    return np.frombuffer(blob, dtype=np.uint8, offset=header_len).reshape(shape).copy()


def _missing_hint(dataset: str, default: bool) -> str:
    """How to get the files: install the package, or say where they are."""
    if default and dataset == "fashion-mnist":
        return "run `sudo apt-get install dataset-fashion-mnist` or pass --data-dir PATH"
    if default:
        return (
            f"there is no Debian package for {dataset}; "
            f"pass --data-dir PATH pointing at the four {dataset.upper()} IDX files"
        )
    return f"put the four {dataset.upper()} IDX files there or pass --data-dir PATH pointing at them"


def _find(directory: Path, stem: str, dataset: str, default: bool) -> Path:
    """Return ``stem.gz`` or raw ``stem`` in directory, whichever exists."""
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    raise SbnError(f"{dataset}: {directory / stem}[.gz] not found; {_missing_hint(dataset, default)}")


def load(dataset: str, split: str, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of a named set as ``(images uint8 (N, H, W), labels uint8 (N,))``.

    ``data_dir`` overrides the default directory for ``dataset``. The checks
    catch mixed-up files (images from one set, labels from another) before they
    turn into a model that silently learns nothing.
    """
    if dataset not in DEFAULT_DIRS:
        raise SbnError(f"unknown dataset {dataset!r}; choose one of: {', '.join(sorted(DEFAULT_DIRS))}")
    if split not in SPLITS:
        raise SbnError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")

    default = data_dir is None
    directory = DEFAULT_DIRS[dataset] if default else Path(data_dir)
    if not directory.is_dir():
        hint = _missing_hint(dataset, default)
        raise SbnError(f"{dataset}: data directory {directory} does not exist; {hint}")

    prefix = SPLITS[split]
    image_path = _find(directory, f"{prefix}-images-idx3-ubyte", dataset, default)
    label_path = _find(directory, f"{prefix}-labels-idx1-ubyte", dataset, default)
    images, labels = _pair(image_path, label_path)
    if images.ndim != 3:
        raise SbnError(f"{image_path} has shape {images.shape}, expected (N, H, W); use an images-idx3 file")
    if labels.size and labels.max() >= _NUM_CLASSES:
        bad = int(labels.max())
        raise SbnError(f"{label_path} contains label {bad}, expected 0..9; use the original labels file")
    return images, labels


def _pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An images file and its labels file, checked against each other."""
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim < 2:
        raise SbnError(f"{image_path} has shape {images.shape}, expected (N, H, W); use an images-idx3 file")
    if labels.ndim != 1:
        raise SbnError(f"{label_path} has shape {labels.shape}, expected (N,); use a labels-idx1 file")
    if len(images) != len(labels):
        raise SbnError(
            f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels; "
            "both files must come from the same split"
        )
    return images, labels


# --- any folder of IDX files: the "idx" data source ------------------------------

def _stems(prefix: str, what: str) -> list[str]:
    """File names of one IDX file, as published (``-idx3-ubyte``) and as often re-saved (``.idx3-ubyte``)."""
    ranks = (1,) if what == "labels" else (3, 4, 2)
    return [f"{prefix}-{what}{sep}idx{rank}-ubyte{gz}" for rank in ranks for sep in ("-", ".") for gz in (".gz", "")]


def _locate(directory: Path, prefix: str, what: str) -> Path | None:
    for name in _stems(prefix, what):
        if (directory / name).is_file():
            return directory / name
    return None


def detect(path: Path) -> bool:
    """A folder holding ``train-images-idx3-ubyte[.gz]`` (or only the ``t10k-`` files)."""
    path = Path(path)
    return path.is_dir() and any(_locate(path, prefix, "images") for prefix in SPLITS.values())


def read(path: Path, options: dict) -> Parts:
    """The splits of an IDX folder; ``options["dataset"]`` names a set and fixes its class names."""
    name = options.get("dataset")
    if name:
        data_dir = options.get("data_dir")
        splits = {split: load(name, split, data_dir) for split in SPLITS}
        directory = DEFAULT_DIRS[name] if data_dir is None else Path(data_dir)
        where = {split: str(directory / f"{SPLITS[split]}-images-idx3-ubyte") for split in SPLITS}
        return Parts(splits, where, CLASS_NAMES[name], kind_hint="image")
    directory = Path(path)
    if not directory.is_dir():
        raise SbnError(f"{directory} is not a folder of IDX files; point at the folder holding "
                       "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
    splits, where, label_where = {}, {}, {}
    for split, prefix in SPLITS.items():
        image_path, label_path = _locate(directory, prefix, "images"), _locate(directory, prefix, "labels")
        if image_path is None and label_path is None:
            continue
        if image_path is None or label_path is None:
            have, lack = (image_path, "labels") if label_path is None else (label_path, "images")
            stem = f"{prefix}-{lack}-idx{1 if lack == 'labels' else 3}-ubyte"
            raise SbnError(f"{have} has no {lack} file beside it ({stem}[.gz]); "
                           f"put the {prefix} {lack} file in {directory}")
        splits[split] = _pair(image_path, label_path)
        where[split], label_where[split] = str(image_path), str(label_path)
    if not splits:
        raise SbnError(f"{directory} holds no train-images-idx3-ubyte[.gz]; point at a folder of IDX files")
    return Parts(splits, where, None, kind_hint="image", label_where=label_where,
                 missing_test_hint=f"{directory} holds no t10k-images-idx3-ubyte[.gz] (the test split)")


SOURCE = Source("idx", detect, read, "a folder of IDX files (train-images-idx3-ubyte[.gz], ...)")
