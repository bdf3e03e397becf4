"""Load MNIST-style IDX datasets from local files, with numpy only.

The toolchain never downloads anything: training must work offline and in CI,
so the data comes from files already on disk (the Debian package
``dataset-fashion-mnist``, or any directory given with ``--data-dir``). Every
problem is reported as one ``SbnError`` line that says how to fix it, because
the CLI prints that line instead of a traceback.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import SbnError

from . import DEFAULT_DIRS

SPLITS = {"train": "train", "test": "t10k"}  # split name -> IDX file prefix

_GZIP_MAGIC = b"\x1f\x8b"
_UINT8_CODE = 0x08
_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)


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
    """Load one split as ``(images uint8 (N, 28, 28), labels uint8 (N,))``.

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
    images, labels = read_idx(image_path), read_idx(label_path)

    if images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise SbnError(f"{image_path} has shape {images.shape}, expected (N, 28, 28); use an images-idx3 file")
    if labels.ndim != 1:
        raise SbnError(f"{label_path} has shape {labels.shape}, expected (N,); use a labels-idx1 file")
    if len(images) != len(labels):
        raise SbnError(
            f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels; "
            "both files must come from the same split"
        )
    if labels.size and labels.max() >= _NUM_CLASSES:
        bad = int(labels.max())
        raise SbnError(f"{label_path} contains label {bad}, expected 0..9; use the original labels file")
    return images, labels
