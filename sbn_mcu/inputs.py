"""The user's own inputs, for ``golden`` and ``predict``: arrays, CSV rows and images.

Everything becomes uint8 ``(N, INPUT_SIZE)``, the flat layout the C takes.
A wrong type or shape is one line that says what the model wants; nothing
is converted silently (a float image scaled to [0, 1] would give nonsense
scores, not an error).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import SbnError
from .ir import contract

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def _shape_text(model) -> str:
    size, shape = model.input_size, tuple(model.input_shape)
    return f"(N, {size}) or (N, {', '.join(map(str, shape))})"


def as_batch(x, model, what: str = "inputs") -> np.ndarray:
    """``x`` as uint8 ``(N, INPUT_SIZE)``: it must be uint8 ``(N, INPUT_SIZE)`` or ``(N, *input_shape)``."""
    x = np.asarray(x)
    if x.dtype != contract.DTYPE:
        raise SbnError(f"{what} must be {contract.DTYPE} values (0..255), got {x.dtype}")
    if x.ndim >= 2 and (x.shape[1:] == (model.input_size,) or x.shape[1:] == tuple(model.input_shape)):
        return np.ascontiguousarray(x.reshape(len(x), model.input_size))
    raise SbnError(f"{what} must have shape {_shape_text(model)}; got {x.shape}")


def _one_or_batch(x: np.ndarray, model, what: str) -> np.ndarray:
    """A single input (INPUT_SIZE,) or (*input_shape) becomes a batch of one."""
    if x.shape == (model.input_size,) or x.shape == tuple(model.input_shape):
        x = x.reshape(1, -1)
    return as_batch(x, model, what)


def _array(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise SbnError(f"cannot read {path}: {err}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded:
        keys = list(loaded.files)
        if "inputs" in keys:
            return loaded["inputs"]
        if len(keys) == 1:
            return loaded[keys[0]]
    raise SbnError(f"{path} holds {', '.join(keys) or 'no arrays'}; name the input array 'inputs'")


def _csv_row(path: Path, model) -> np.ndarray:
    try:
        values = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as err:
        raise SbnError(f"cannot read {path} as CSV numbers: {err}") from None
    if values.shape[0] != 1 or values.shape[1] != model.input_size:
        raise SbnError(f"{path} must hold one row of {model.input_size} values; got {values.shape[0]} "
                       f"row(s) of {values.shape[1]}")
    if (values != np.round(values)).any() or values.min() < 0 or values.max() > 255:
        raise SbnError(f"{path} must hold whole numbers 0..255 (the raw uint8 input)")
    return values.astype(np.uint8)


def _image(path: Path, model) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise SbnError(f"reading the image {path.name} needs Pillow: pip install pillow") from None
    shape = tuple(model.input_shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise SbnError(f"the model takes inputs of shape {shape}, not an image; give an .npy array")
    channels, height, width = shape
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            pixels = np.asarray(img, dtype=np.uint8)
    except OSError as err:
        raise SbnError(f"cannot read the image {path}: {err}") from None
    if pixels.shape[:2] != (height, width):
        raise SbnError(f"{path.name} is {pixels.shape[1]}x{pixels.shape[0]} pixels; the model takes "
                       f"{width}x{height} (resize it first)")
    chw = pixels.reshape(height, width, channels).transpose(2, 0, 1)  # the C takes C, H, W
    return chw.reshape(1, -1)


def read_inputs(paths, model) -> np.ndarray:
    """The inputs in ``paths`` (.npy, .npz, .csv or images), stacked as uint8 (N, INPUT_SIZE)."""
    batches = []
    for path in map(Path, paths):
        if not path.is_file():
            raise SbnError(f"input file {path} does not exist")
        suffix = path.suffix.lower()
        if suffix in (".npy", ".npz"):
            batches.append(_one_or_batch(_array(path), model, str(path)))
        elif suffix == ".csv":
            batches.append(_csv_row(path, model))
        elif suffix in IMAGE_SUFFIXES:
            batches.append(_image(path, model))
        else:
            raise SbnError(f"cannot read {path}: give an .npy, .npz or .csv file or an image "
                           f"({', '.join(IMAGE_SUFFIXES[:3])}, ...)")
    if not batches:
        raise SbnError("no inputs given")
    return np.concatenate(batches)
