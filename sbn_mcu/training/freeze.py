"""Freeze a trained torch network into the integer :class:`FrozenModel`.

Batch norm followed by ``sign`` is one integer comparison per channel
(see :func:`fold_threshold`); everything else maps one to one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import ops
from ..errors import SbnError
from ..ir.input_spec import InputSpec, as_spec
from ..ir.model import FrozenModel
from .layers import SBActivation, Scores

SUPPORTED = ", ".join(sorted({name for op in ops.OPS.values() for name in op.freezes}
                             | {"BatchNorm1d", "BatchNorm2d", "SBActivation", "Scores"}))


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

    Hard mode decides ties with this same number (layers.hard_copy), so the
    two can disagree only where freezing itself is wrong.
    """
    mean, var, gamma, beta = (np.asarray(a, dtype=np.float64) for a in (mean, var, gamma, beta))
    sigma = np.sqrt(var + eps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return scale * (mean - beta * sigma / gamma)


def freeze(model: nn.Sequential, spec: InputSpec | tuple, meta: dict | None = None) -> FrozenModel:
    """Walk the ``nn.Sequential`` and emit the integer layers for inputs of ``spec``
    (an :class:`InputSpec`, or a shape for raw ``uint8`` values in torch's order).

    A binary layer is either followed by [batch norm +] activation (a hidden
    layer with thresholds) or ends the network (class scores, optionally
    scaled by :class:`Scores`).
    """
    if any(getattr(m, "method", "sbn") == "float" for m in model.modules()):
        raise SbnError("a float model has no binary network to export; train it with --method sbn or ste")
    spec = as_spec(spec)
    modules = list(model)
    layers: list[ops.Op] = []
    first = True
    i = 0

    def refuse(j: int, why: str):
        m = modules[j]
        raise SbnError(f"cannot export layer {j} ({type(m).__name__}): {why}; supported: {SUPPORTED}")

    while i < len(modules):
        m = modules[i]
        op = ops.for_torch(m)
        if op is None:
            refuse(i, "not supported here" if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, SBActivation, Scores))
                   else "unsupported layer")
        try:
            layer = op.from_torch(m)
        except ValueError as why:
            refuse(i, str(why))
        if not layer.has_weights:
            if isinstance(layer, ops.MaxPool2d) and (not layers or layers[-1].thresholds is None):
                refuse(i, "max pooling must follow a binary activation")
            layers.append(layer)
            i += 1
            continue
        bound = layer.accumulator_bound(spec.largest if first else 1)
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
                    gamma.detach().cpu(), beta.detach().cpu(), spec.scale if first else 1.0, bound)
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
    if not layers or not isinstance(layers[-1], ops.Dense) or layers[-1].thresholds is not None:
        raise SbnError("the network must end with an SBLinear layer that gives class scores")
    # Dense sums widen to 64 bits in the C when they need to; convolutions and
    # the int32 class scores of the C API do not.
    compute = [layer for layer in layers if layer.has_weights]
    for i, layer in enumerate(compute):
        bound = layer.accumulator_bound(spec.largest if i == 0 else 1)
        if isinstance(layer, ops.Conv2d) and bound >= 2 ** 31:
            raise SbnError(f"a convolution with fan-in {layer.weights[0].size} can pass int32 sums; "
                           "use fewer input channels or a smaller kernel")
        if layer is compute[-1] and bound >= 2 ** 31:
            raise SbnError(f"class scores of a layer with fan-in {layer.weights[0].size} can pass int32, "
                           "the type of the C API's scores; add a smaller layer before it")
        if bound >= 2 ** 62:
            raise SbnError(f"a layer with fan-in {layer.weights[0].size} is too large")
    result = FrozenModel(spec, layers, dict(meta or {}))
    result.shapes()  # validates every shape now, not in the C compiler
    return result


def check_against_torch(model: nn.Module, frozen: FrozenModel, inputs: np.ndarray, progress: bool = False) -> int:
    """Inputs where torch's hard network and the reference predict different classes."""
    from ..ir import reference
    from ..progress import batches
    from .layers import hard_copy

    hard = hard_copy(model, frozen.spec.scale)
    inputs = frozen.spec.check(inputs)
    disagreements = 0
    label = f"checking against torch on {len(inputs):,} test inputs"
    with batches(len(inputs), label, progress) as starts, torch.no_grad():
        for i in starts:
            batch = inputs[i:i + 500]
            ours = reference.predict(reference.run(frozen, batch))
            theirs = hard(frozen.spec.normalise(torch.from_numpy(batch)).double()).argmax(1).numpy()
            disagreements += int((ours != theirs).sum())
    return disagreements
