"""The user's own inputs for ``golden`` and ``predict``: arrays, CSV rows and images, read to the model's spec.

Everything becomes ``spec.check(...)``: a contiguous ``(N, spec.size)`` batch
of the spec's input type, in the order the C takes. A wrong type or shape is
one line that says what the model wants. Integers of another dtype are
converted when every value fits the input type; nothing else is (a float
image scaled to [0, 1] would give nonsense scores, not an error), and images
are never resized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SbnError
from ..ir.input_spec import InputSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def to_type(x, spec: InputSpec, what: str) -> np.ndarray:
    """``x`` in the spec's input type: as is, or converted from integers that all fit; else one line."""
    x = np.asarray(x)
    if x.dtype == spec.numpy_dtype:
        return x
    lo, hi = spec.range
    if x.dtype.kind in "biu":
        if x.size == 0 or (int(x.min()) >= lo and int(x.max()) <= hi):
            return x.astype(spec.numpy_dtype)
        raise SbnError(f"{what} holds values {int(x.min())}..{int(x.max())}, outside the model's input type "
                       f"{spec.dtype} ({lo}..{hi}); give the raw {spec.dtype} inputs")
    raise SbnError(f"{what} must be {spec.dtype} values ({lo}..{hi}), got {x.dtype}; give the raw integer "
                   "inputs the model was trained on, not scaled or float values")


def as_batch(x, spec: InputSpec, what: str = "inputs") -> np.ndarray:
    """``x`` as ``(N, spec.size)`` of the input type; one input ``(size,)`` or ``(*stored_shape)`` is a batch of one."""
    x = to_type(x, spec, what)
    if x.shape in ((spec.size,), tuple(spec.stored_shape)):
        x = x.reshape(1, spec.size)
    return spec.check(x, what)


def _array(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise SbnError(f"cannot read {path}: {' '.join(str(err).split())}; save it with np.save") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded:
        keys = list(loaded.files)
        try:
            if "inputs" in keys:
                return loaded["inputs"]
            if len(keys) == 1:
                return loaded[keys[0]]
        except (OSError, ValueError, EOFError) as err:
            raise SbnError(f"cannot read {path}: {' '.join(str(err).split())}") from None
    raise SbnError(f"{path} holds {', '.join(keys) or 'no arrays'}; name the input array 'inputs'")


def _csv_row(path: Path, spec: InputSpec) -> np.ndarray:
    try:
        values = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as err:
        raise SbnError(f"cannot read {path} as CSV numbers: {' '.join(str(err).split())}") from None
    if values.shape[0] != 1 or values.shape[1] != spec.size:
        raise SbnError(f"{path} must hold one row of {spec.size} values; got {values.shape[0]} "
                       f"row(s) of {values.shape[1]}")
    lo, hi = spec.range
    if not np.isfinite(values).all() or (values != np.round(values)).any() or values.min() < lo \
            or values.max() > hi:
        raise SbnError(f"{path} must hold whole numbers {lo}..{hi} (the raw {spec.dtype} input)")
    return values.astype(spec.numpy_dtype)


def _image(path: Path, spec: InputSpec) -> np.ndarray:
    from .images import read_rgb, to_gray

    shape = spec.stored_shape
    if spec.layout == "chw" and spec.shape[0] in (1, 3):
        channels, height, width = spec.shape
    elif spec.layout == "hwc" and spec.shape[0] in (1, 3):
        height, width, channels = shape
    else:
        raise SbnError(f"the model takes inputs of shape {tuple(shape)} ({spec.layout_text()}), not an image; "
                       "give an .npy array")
    rgb = read_rgb(path)
    if rgb.shape[:2] != (height, width):
        raise SbnError(f"{path.name} is {rgb.shape[1]}x{rgb.shape[0]} pixels; the model takes "
                       f"{width}x{height} (resize it first)")
    pixels = to_gray(rgb)[..., None] if channels == 1 else rgb  # (H, W, C)
    if spec.layout == "chw":
        pixels = pixels.transpose(2, 0, 1)  # the C takes C, H, W
    return to_type(np.ascontiguousarray(pixels).reshape(1, -1), spec, str(path))


def read_inputs(paths, spec: InputSpec) -> np.ndarray:
    """The inputs in ``paths`` (.npy, .npz, .csv or images), stacked as ``(N, spec.size)`` of the input type."""
    batches = []
    for path in map(Path, paths):
        if not path.is_file():
            raise SbnError(f"input file {path} does not exist")
        suffix = path.suffix.lower()
        if suffix in (".npy", ".npz"):
            batches.append(as_batch(_array(path), spec, str(path)))
        elif suffix == ".csv":
            batches.append(_csv_row(path, spec))
        elif suffix in IMAGE_SUFFIXES:
            batches.append(_image(path, spec))
        else:
            raise SbnError(f"cannot read {path}: give an .npy, .npz or .csv file or an image "
                           f"({', '.join(IMAGE_SUFFIXES[:3])}, ...)")
    if not batches:
        raise SbnError("no inputs given")
    return spec.check(np.concatenate(batches))
