"""Batch norm followed by ``sign`` as one integer comparison per channel: IR arithmetic, numpy only.

Freeze folds every threshold with :func:`fold_threshold`; torch's hard mode
decides ties with the same :func:`fold_tau`, so the two agree by construction.
"""

from __future__ import annotations

import numpy as np

from ..errors import SbnError


def fold_threshold(mean, var, eps, gamma, beta, scale: float, bound: int):
    """Fold ``sign(gamma * (a - mean) / sqrt(var + eps) + beta)`` into ``acc >= t``.

    ``a = acc / scale`` is the trained pre-activation of an integer sum ``acc``
    with ``|acc| <= bound``. Returns ``(negate, t)``: per channel, whether the
    weights must be negated (gamma < 0 flips the comparison, and
    ``acc <= T`` is ``-acc >= -T``) and the int64 threshold. gamma = 0 gives a
    constant output, as a threshold no sum can (or every sum does) reach.
    Computed in float64, like the hard-mode evaluation.

    >>> fold_threshold([0.5], [1.0], 0.0, [1.0], [0.0], 1.0, 10)
    (array([False]), array([1]))
    >>> fold_threshold([0.5], [1.0], 0.0, [-1.0], [0.0], 1.0, 10)
    (array([ True]), array([0]))
    """
    mean, var, gamma, beta = (np.asarray(a, dtype=np.float64) for a in (mean, var, gamma, beta))
    for name, a in (("mean", mean), ("var", var), ("weight", gamma), ("bias", beta)):
        if not np.all(np.isfinite(a)):
            raise SbnError(f"batch norm {name} contains NaN or Inf; the checkpoint is not usable")
    if not (np.isfinite(eps) and np.all(var + eps > 0)):
        raise SbnError("batch norm variance + eps is not positive; the checkpoint is not usable")
    tau = fold_tau(mean, var, eps, gamma, beta, scale)
    up = np.ceil(np.clip(tau, -bound - 1, bound + 1))
    down = np.floor(np.clip(tau, -bound - 1, bound + 1))
    constant = np.where(beta >= 0, -bound, bound + 1)  # always +1 / always -1
    t = np.where(gamma > 0, up, np.where(gamma < 0, -down, constant))
    return gamma < 0, np.clip(t, -bound, bound + 1).astype(np.int64)


def fold_tau(mean, var, eps, gamma, beta, scale: float) -> np.ndarray:
    """``scale * (mean - beta * sigma / gamma)`` in float64: where ``sign`` of batch norm flips.

    Hard mode decides ties with this same number (training.layers.hard_copy), so the
    two can disagree only where freezing itself is wrong.
    """
    mean, var, gamma, beta = (np.asarray(a, dtype=np.float64) for a in (mean, var, gamma, beta))
    sigma = np.sqrt(var + eps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return scale * (mean - beta * sigma / gamma)
