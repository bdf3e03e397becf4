"""The numpy integer interpreter of a :class:`FrozenModel`: the oracle.

It works on ±1 integers, not packed bits, so it shares no code or layout
with the C it checks. Each op computes its own step (:meth:`Op.reference`).
"""

from __future__ import annotations

import numpy as np

from . import contract
from .model import FrozenModel
from ..errors import SbnError


def _threshold(acc: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    shape = (1, -1) + (1,) * (acc.ndim - 2)
    return np.where(acc >= thresholds.reshape(shape), 1, -1).astype(np.int64)


def run(model: FrozenModel, inputs: np.ndarray, batch: int = 500) -> np.ndarray:
    """Integer class scores, int32 (N, classes), for raw inputs (N, *input_shape) or (N, INPUT_SIZE)."""
    inputs = contract.check(inputs)
    inputs = inputs.reshape(len(inputs), -1)
    if inputs.shape[1] != model.input_size:
        raise SbnError(f"the model takes {model.input_size} input values, got {inputs.shape[1]}")
    out = []
    for start in range(0, len(inputs), batch):
        x = contract.integers(inputs[start:start + batch]).reshape((-1,) + tuple(model.input_shape))
        for layer in model.layers:
            x = layer.reference(x)
            if layer.thresholds is not None:
                x = _threshold(x, layer.thresholds)
        out.append(x.astype(np.int32))
    return np.concatenate(out) if out else np.zeros((0, model.num_classes), np.int32)


def predict(scores: np.ndarray) -> np.ndarray:
    """Argmax with ties to the lowest index (numpy's and torch's rule too)."""
    return np.argmax(scores, axis=1)
