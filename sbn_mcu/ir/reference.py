"""The numpy integer interpreter of a :class:`FrozenModel`: the oracle.

It works on ±1 integers, not packed bits, so it shares no code or layout
with the C it checks. Each op computes its own step (:meth:`Op.reference`).
"""

from __future__ import annotations

import numpy as np

from .model import FrozenModel


def _threshold(acc: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    shape = (1, -1) + (1,) * (acc.ndim - 2)
    return np.where(acc >= thresholds.reshape(shape), 1, -1).astype(np.int64)


def _steps(model: FrozenModel, x: np.ndarray):
    """Each layer's output for the integers ``x``: ±1 after a threshold, else the sums."""
    for layer in model.layers:
        x = layer.reference(x)
        if layer.thresholds is not None:
            x = _threshold(x, layer.thresholds)
        yield x


def run(model: FrozenModel, inputs: np.ndarray, batch: int = 500) -> np.ndarray:
    """Integer class scores, int32 (N, classes), for raw inputs (N, INPUT_SIZE) or (N, *stored_shape)."""
    inputs = model.spec.check(inputs)
    out = []
    for start in range(0, len(inputs), batch):
        *_, scores = _steps(model, model.spec.integers(inputs[start:start + batch]))
        out.append(scores.astype(np.int32))
    return np.concatenate(out) if out else np.zeros((0, model.num_classes), np.int32)


def trace(model: FrozenModel, inputs: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for raw inputs, as :func:`run` computes it: ``(N, *shape)`` int64 arrays of
    ±1 after a threshold, else of sums, the last being the scores. To find the first layer where
    another implementation departs from the reference."""
    return list(_steps(model, model.spec.integers(model.spec.check(inputs))))


def predict(scores: np.ndarray) -> np.ndarray:
    """Argmax with ties to the lowest index (numpy's and torch's rule too)."""
    return np.argmax(scores, axis=1)
