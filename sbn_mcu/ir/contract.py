"""The input contract: how the user's raw values become the integers the model sums.

Written once and used by training, the reference, the C header and the
tests. The C takes raw ``uint8`` values ``p`` in torch's ``C, H, W`` order (or
a flat vector). Training feeds ``x = (2p - 255) / 255`` in [-1, 1]; the
frozen model works on the integer ``q = 2p - 255`` instead, so the first
layer's sum is :data:`SCALE` times the trained pre-activation and that factor
lives in its thresholds. Nothing on the microcontroller is a float.
"""

from __future__ import annotations

import numpy as np

from ..errors import SbnError

DTYPE = np.dtype(np.uint8)
C_TYPE = "uint8_t"
LARGEST = 255  # the largest |q|: the accumulator bound of the first layer is fan-in times this
SCALE = 255.0  # q = SCALE * x: the first layer's integer sum over its trained pre-activation
DESCRIPTION = "The training normalisation x = (2p - 255) / 255 is folded into the model."


def integers(raw: np.ndarray) -> np.ndarray:
    """The integers ``q = 2p - 255`` (int64) that the first layer multiplies by ±1.

    >>> integers(np.array([0, 128, 255], np.uint8)).tolist()
    [-255, 1, 255]
    """
    return 2 * np.asarray(raw).astype(np.int64) - 255


def normalise(raw):
    """``x = (2p - 255) / 255 = q / SCALE`` in [-1, 1], what training feeds the network.

    Works on numpy arrays and torch tensors alike (training passes tensors).

    >>> normalise(np.array([0.0, 255.0])).tolist()
    [-1.0, 1.0]
    """
    return raw / 127.5 - 1.0


def check(inputs: np.ndarray) -> np.ndarray:
    """``inputs`` as the model's input type, or one line saying what is wrong."""
    inputs = np.asarray(inputs)
    if inputs.dtype != DTYPE:
        raise SbnError(f"inputs must be {DTYPE}, got {inputs.dtype}")
    return inputs
