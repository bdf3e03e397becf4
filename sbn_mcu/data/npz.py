"""numpy ``.npz`` archives: ``x_train``, ``y_train``, ``x_test``, ``y_test`` (and optional val split, class names).

``x`` arrays are ``(N, F)``, ``(N, C, L)``, ``(N, C, H, W)``, or ``(N, H, W)``
gray images with ``input_layout="chw"``, or ``(N, H, W, C)`` with
``input_layout="hwc"``. ``class_names`` is an array of strings, one per class;
labels are class indices or, without it, may be the class names themselves.
Saved with ``np.savez(path, x_train=..., y_train=..., ...)``; pickled object
arrays are refused (loading them could run code).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import SbnError
from .dataset import Parts, Source

PAIRS = {"train": ("x_train", "y_train"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}


def detect(path: Path) -> bool:
    path = Path(path)
    return path.is_file() and path.suffix.lower() == ".npz"


def _open(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SbnError(f"{path} does not exist; check the path") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise SbnError(f"cannot read {path} as a .npz archive ({err}); save it with np.savez") from None


def _get(archive, path: Path, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as err:  # an object array: it needs pickle
        raise SbnError(f"{path}: array {key!r} cannot be read without pickle ({err}); save plain numeric "
                       "or string arrays") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise SbnError(f"{path}: array {key!r} is corrupt ({err}); save the archive again") from None


def read(path: Path, options: dict) -> Parts:
    path = Path(path)
    archive = _open(path)
    if not hasattr(archive, "files"):
        raise SbnError(f"{path} holds a single array, not a .npz archive; save x_train, y_train, x_test and "
                       "y_test with np.savez")
    with archive:
        keys = set(archive.files)
        splits, where = {}, {}
        for split, (x_key, y_key) in PAIRS.items():
            if x_key not in keys and y_key not in keys:
                continue
            for key, other in ((x_key, y_key), (y_key, x_key)):
                if key not in keys:
                    raise SbnError(f"{path} has {other!r} but no array {key!r}; save both with np.savez")
            splits[split] = (_get(archive, path, x_key), _get(archive, path, y_key))
            where[split] = f"{path} ({x_key})"
        if not splits:
            raise SbnError(f"{path} has no array 'x_train' (it holds {', '.join(sorted(keys)) or 'none'}); "
                           "name the training inputs x_train and their labels y_train")
        names = None
        if "class_names" in keys:
            names = _get(archive, path, "class_names")
            if names.ndim != 1 or names.dtype.kind not in "US":
                raise SbnError(f"{path}: class_names must be a 1-D array of strings, got {names.dtype} "
                               f"{names.shape}; save np.array(['cat', 'dog', ...])")
            names = tuple(names.astype(str).tolist())
    return Parts(splits, where, names,
                 missing_test_hint=f"{path} has no arrays 'x_test' and 'y_test'; add them")


SOURCE = Source("npz", detect, read, "a .npz file with x_train, y_train, x_test, y_test")
