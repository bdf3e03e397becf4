"""The numpy integer interpreter of a :class:`FrozenModel`: the oracle.

It works on ±1 integers, not packed bits, so it shares no code or layout
with the C it checks.
"""

from __future__ import annotations

import numpy as np

from . import frozen
from .errors import SbnError


def _conv(x: np.ndarray, layer: frozen.Conv2d) -> np.ndarray:
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # padding is 0: it adds nothing
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("nchwij,ocij->nohw", windows, layer.weights.astype(np.int64), optimize=True)


def _maxpool(x: np.ndarray, layer: frozen.MaxPool2d) -> np.ndarray:
    k, s = layer.kernel_size, layer.stride
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return windows.max(axis=(4, 5))


def _threshold(acc: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    shape = (1, -1) + (1,) * (acc.ndim - 2)
    return np.where(acc >= thresholds.reshape(shape), 1, -1).astype(np.int64)


def run(model: frozen.FrozenModel, inputs: np.ndarray, batch: int = 500) -> np.ndarray:
    """Integer class scores, int32 (N, classes), for uint8 inputs (N, *input_shape)."""
    inputs = np.asarray(inputs)
    if inputs.dtype != np.uint8:
        raise SbnError(f"inputs must be uint8, got {inputs.dtype}")
    inputs = inputs.reshape(len(inputs), -1)
    if inputs.shape[1] != model.input_size:
        raise SbnError(f"the model takes {model.input_size} input values, got {inputs.shape[1]}")
    out = []
    for start in range(0, len(inputs), batch):
        x = inputs[start:start + batch].astype(np.int64).reshape((-1,) + tuple(model.input_shape))
        x = 2 * x - 255
        for layer in model.layers:
            if isinstance(layer, frozen.Dense):
                x = x.reshape(len(x), -1) @ layer.weights.T.astype(np.int64)
            elif isinstance(layer, frozen.Conv2d):
                x = _conv(x, layer)
            elif isinstance(layer, frozen.MaxPool2d):
                x = _maxpool(x, layer)
            elif isinstance(layer, frozen.Flatten):
                x = x.reshape(len(x), -1)
            if getattr(layer, "thresholds", None) is not None:
                x = _threshold(x, layer.thresholds)
        out.append(x.astype(np.int32))
    return np.concatenate(out) if out else np.zeros((0, model.num_classes), np.int32)


def batches(count: int, label: str, progress: bool, size: int = 500):
    """Start indices of batches of ``count`` inputs, behind a progress bar on
    stderr when ``progress`` (a context manager, like click's bar)."""
    import contextlib

    starts = range(0, count, size)
    if not progress:
        return contextlib.nullcontext(starts)
    import click

    return click.progressbar(starts, label=label, file=click.get_text_stream("stderr"))


def predict(scores: np.ndarray) -> np.ndarray:
    """Argmax with ties to the lowest index (numpy's and torch's rule too)."""
    return np.argmax(scores, axis=1)
