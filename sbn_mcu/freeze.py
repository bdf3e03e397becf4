"""Freeze a trained torch network into the integer :class:`FrozenModel`.

Batch norm followed by ``sign`` is one integer comparison per channel
(see :func:`fold_threshold`); everything else maps one to one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import frozen
from .errors import SbnError
from .layers import SBActivation, SBConv2d, SBLinear, Scores
from .models import SUPPORTED


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
    sigma = np.sqrt(var + eps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau = scale * (mean - beta * sigma / gamma)
    up = np.ceil(np.clip(tau, -bound - 1, bound + 1))
    down = np.floor(np.clip(tau, -bound - 1, bound + 1))
    constant = np.where(beta >= 0, -bound, bound + 1)  # always +1 / always -1
    t = np.where(gamma > 0, up, np.where(gamma < 0, -down, constant))
    return gamma < 0, np.clip(t, -bound, bound + 1).astype(np.int64)


def _binary_weights(layer: nn.Module) -> np.ndarray:
    w = layer.weight.detach().cpu().double().numpy()
    if not np.all(np.isfinite(w)):
        raise SbnError(f"{type(layer).__name__} weights contain NaN or Inf; the checkpoint is not usable")
    return np.where(w >= 0, 1, -1).astype(np.int8)


def freeze(model: nn.Sequential, input_shape, meta: dict | None = None) -> frozen.FrozenModel:
    """Walk the ``nn.Sequential`` and emit the integer layers.

    A binary layer is either followed by [batch norm +] activation (a hidden
    layer with thresholds) or ends the network (class scores, optionally
    scaled by :class:`Scores`).
    """
    if any(getattr(m, "method", "sbn") == "float" for m in model.modules()):
        raise SbnError("a float model has no binary network to export; train it with --method sbn or ste")
    modules = list(model)
    layers: list[frozen.Layer] = []
    first = True
    i = 0

    def refuse(j: int, why: str):
        m = modules[j]
        raise SbnError(f"cannot export layer {j} ({type(m).__name__}): {why}; supported: {SUPPORTED}")

    while i < len(modules):
        m = modules[i]
        if isinstance(m, (SBLinear, SBConv2d)):
            weights = _binary_weights(m)
            if isinstance(m, SBConv2d):
                if m.kernel_size[0] != m.kernel_size[1] or m.stride[0] != m.stride[1] \
                        or m.padding[0] != m.padding[1] or m.dilation != (1, 1) or m.groups != 1 \
                        or m.padding_mode != "zeros":
                    refuse(i, "only square kernels, equal strides/padding, zero padding, no dilation or groups")
                layer = frozen.Conv2d(weights, None, m.stride[0], m.padding[0])
            else:
                layer = frozen.Dense(weights, None)
            bound = frozen.accumulator_bound(layer, first)
            j = i + 1
            norm = None
            if j < len(modules) and isinstance(modules[j], (nn.BatchNorm1d, nn.BatchNorm2d)):
                norm, j = modules[j], j + 1
            if j < len(modules) and isinstance(modules[j], SBActivation):
                n = layer.weights.shape[0]
                if norm is None:
                    negate, t = np.zeros(n, bool), np.zeros(n, np.int64)
                else:
                    if norm.num_features != n or not norm.track_running_stats:
                        refuse(i + 1, "batch norm must match the layer's channels and track running stats")
                    gamma = norm.weight if norm.affine else torch.ones(n)
                    beta = norm.bias if norm.affine else torch.zeros(n)
                    negate, t = fold_threshold(
                        norm.running_mean.cpu(), norm.running_var.cpu(), norm.eps,
                        gamma.detach().cpu(), beta.detach().cpu(), 255.0 if first else 1.0, bound)
                layer.weights[negate] *= -1
                layer.thresholds = t
                j += 1
            elif norm is not None:
                refuse(j - 1, "batch norm must be followed by SBActivation")
            else:  # the score layer
                if j < len(modules) and isinstance(modules[j], Scores):
                    j += 1
                if j != len(modules):
                    refuse(i, "a binary layer without activation must be the last layer")
            layers.append(layer)
            first = False
            i = j
        elif isinstance(m, nn.MaxPool2d):
            k, s = m.kernel_size, m.stride
            if not isinstance(k, int) or not isinstance(s, int) or m.padding != 0 or m.dilation != 1 \
                    or m.ceil_mode:
                refuse(i, "max pooling needs an int kernel and stride, no padding, dilation or ceil mode")
            if not layers or getattr(layers[-1], "thresholds", None) is None:
                refuse(i, "max pooling must follow a binary activation")
            layers.append(frozen.MaxPool2d(k, s))
            i += 1
        elif isinstance(m, nn.Flatten):
            layers.append(frozen.Flatten())
            i += 1
        else:
            refuse(i, "not supported here" if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, SBActivation,
                                                            Scores)) else "unsupported layer")
    if not layers or not isinstance(layers[-1], frozen.Dense) or layers[-1].thresholds is not None:
        raise SbnError("the network must end with an SBLinear layer that gives class scores")
    # Dense sums widen to 64 bits in the C when they need to; convolutions and
    # the int32 class scores of the C API do not.
    compute = [l for l in layers if isinstance(l, (frozen.Dense, frozen.Conv2d))]
    for i, layer in enumerate(compute):
        bound = frozen.accumulator_bound(layer, i == 0)
        if isinstance(layer, frozen.Conv2d) and bound >= 2 ** 31:
            raise SbnError(f"a convolution with fan-in {layer.weights[0].size} can pass int32 sums; "
                           "use fewer input channels or a smaller kernel")
        if layer is compute[-1] and bound >= 2 ** 31:
            raise SbnError(f"class scores of a layer with fan-in {layer.weights[0].size} can pass int32, "
                           "the type of the C API's scores; add a smaller layer before it")
        if bound >= 2 ** 62:
            raise SbnError(f"a layer with fan-in {layer.weights[0].size} is too large")
    result = frozen.FrozenModel(tuple(input_shape), layers, dict(meta or {}))
    result.shapes()  # validates every shape now, not in the C compiler
    return result
