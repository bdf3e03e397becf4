"""Freeze a trained torch network into the integer :class:`FrozenModel`, in four passes:

1. **group** the modules: each weight layer with the batch norm and activation
   after it; pooling and flatten stand alone; dropout goes (it is the identity
   at inference);
2. **fold** batch norm and ``sign`` into one integer threshold per channel
   (:func:`sbn_mcu.ir.thresholds.fold_threshold`);
3. **negate** the weights of channels whose batch-norm scale is negative, so
   that every comparison is ``>=`` and pooling sees the true activations;
4. **check** every accumulator bound against the input spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import ops
from ..errors import SbnError
from ..ir.input_spec import InputSpec, as_spec
from ..ir.model import FrozenModel
from ..ir.thresholds import fold_threshold
from .layers import SBActivation, Scores

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
REMOVED = (nn.Dropout,)  # the identity at inference
SUPPORTED = ", ".join(sorted({name for op in ops.OPS.values() for name in op.freezes}
                             | {"BatchNorm1d", "BatchNorm2d", "SBActivation", "Scores", "Dropout"}))


@dataclass
class Group:
    """One op and the torch modules it freezes from."""

    index: int  # the op module's place in the Sequential, for messages
    op: ops.Op
    module: nn.Module
    norm: nn.Module | None = None
    activation: bool = False  # a binary activation follows: the op has thresholds


def _refuse(index: int, module: nn.Module, why: str):
    raise SbnError(f"cannot export layer {index} ({type(module).__name__}): {why}; supported: {SUPPORTED}")


def group(model: nn.Sequential) -> list[Group]:
    """Pass 1: the ops of ``model``, each with its batch norm and activation."""
    modules = [(i, m) for i, m in enumerate(model) if not isinstance(m, REMOVED)]
    groups: list[Group] = []
    k = 0
    while k < len(modules):
        i, m = modules[k]
        op = ops.for_torch(m)
        if op is None:
            _refuse(i, m, "not supported here" if isinstance(m, (*NORMS, SBActivation, Scores))
                    else "unsupported layer")
        try:
            g = Group(i, op.from_torch(m), m)
        except ValueError as why:
            _refuse(i, m, str(why))
        k += 1
        if g.op.has_weights:
            if k < len(modules) and isinstance(modules[k][1], NORMS):
                g.norm, k = modules[k][1], k + 1
            if k < len(modules) and isinstance(modules[k][1], SBActivation):
                g.activation, k = True, k + 1
            elif g.norm is not None:
                _refuse(i + 1, g.norm, "batch norm must be followed by SBActivation")
            else:  # the score layer
                if k < len(modules) and isinstance(modules[k][1], Scores):
                    k += 1
                if k != len(modules):
                    _refuse(i, m, "a binary layer without activation must be the last layer")
        elif groups and not groups[-1].activation and not isinstance(g.op, ops.Flatten):
            _refuse(i, m, "max pooling must follow a binary activation")
        elif not groups and not isinstance(g.op, ops.Flatten):
            _refuse(i, m, "max pooling must follow a binary activation")
        groups.append(g)
    return groups


def fold(groups: list[Group], spec: InputSpec) -> list[np.ndarray]:
    """Pass 2: each thresholded op's thresholds; returns the channels to negate, per group."""
    negations = []
    first = True
    for g in groups:
        negate = np.zeros(0, bool)
        if g.op.has_weights and g.activation:
            n = g.op.weights.shape[0]
            bound = g.op.accumulator_bound(spec.largest if first else 1)
            if g.norm is None:
                negate, t = np.zeros(n, bool), np.zeros(n, np.int64)
            else:
                norm = g.norm
                if norm.num_features != n or not norm.track_running_stats:
                    _refuse(g.index + 1, norm, "batch norm must match the layer's channels and track running stats")
                gamma = norm.weight if norm.affine else torch.ones(n)
                beta = norm.bias if norm.affine else torch.zeros(n)
                negate, t = fold_threshold(norm.running_mean.cpu(), norm.running_var.cpu(), norm.eps,
                                           gamma.detach().cpu(), beta.detach().cpu(),
                                           spec.scale if first else 1.0, bound)
            g.op.thresholds = t
        first = first and not g.op.has_weights
        negations.append(negate)
    return negations


def negate(groups: list[Group], negations: list[np.ndarray]) -> None:
    """Pass 3: ``acc <= T`` is ``-acc >= -T``: flip the weights of those channels."""
    for g, flip in zip(groups, negations):
        if flip.any():
            g.op.weights[flip] *= -1


def check_bounds(layers: list[ops.Op], spec: InputSpec) -> None:
    """Pass 4: sums the C cannot hold are refused with the reason.

    Dense sums widen to 64 bits in the C when they need to; convolutions and
    the int32 class scores of the C API do not.
    """
    if not layers or not isinstance(layers[-1], ops.Dense) or layers[-1].thresholds is not None:
        raise SbnError("the network must end with an SBLinear layer that gives class scores")
    compute = [layer for layer in layers if layer.has_weights]
    for i, layer in enumerate(compute):
        bound = layer.accumulator_bound(spec.largest if i == 0 else 1)
        if not isinstance(layer, ops.Dense) and bound >= 2 ** 31:
            raise SbnError(f"a convolution with fan-in {layer.fan_in} can pass int32 sums on {spec.dtype} input; "
                           "use fewer input channels or a smaller kernel")
        if layer is compute[-1] and bound >= 2 ** 31:
            raise SbnError(f"class scores of a layer with fan-in {layer.fan_in} can pass int32, "
                           "the type of the C API's scores; add a smaller layer before it")
        if bound >= 2 ** 62:
            raise SbnError(f"a layer with fan-in {layer.fan_in} is too large")


def freeze(model: nn.Sequential, spec: InputSpec | tuple, meta: dict | None = None) -> FrozenModel:
    """The integer model of ``model`` for inputs of ``spec`` (an :class:`InputSpec`, or a shape
    for raw ``uint8`` values in torch's order)."""
    if any(getattr(m, "method", "sbn") == "float" for m in model.modules()):
        raise SbnError("a float model has no binary network to export; train it with --method sbn or ste")
    spec = as_spec(spec)
    groups = group(model)
    negate(groups, fold(groups, spec))
    layers = [g.op for g in groups]
    check_bounds(layers, spec)
    result = FrozenModel(spec, layers, dict(meta or {}))
    result.shapes()  # validates every shape now, not in the C compiler
    return result


def check_against_torch(model: nn.Module, frozen: FrozenModel, inputs: np.ndarray, progress: bool = False) -> int:
    """Inputs where torch's hard network and the reference predict different classes."""
    from ..ir import reference
    from ..progress import batches
    from .inputs import normalise
    from .layers import hard_copy

    hard = hard_copy(model, frozen.spec.scale)
    inputs = frozen.spec.check(inputs)
    disagreements = 0
    label = f"checking against torch on {len(inputs):,} test inputs"
    with batches(len(inputs), label, progress) as starts, torch.no_grad():
        for i in starts:
            batch = inputs[i:i + 500]
            ours = reference.predict(reference.run(frozen, batch))
            theirs = hard(normalise(frozen.spec, torch.from_numpy(batch)).double()).argmax(1).numpy()
            disagreements += int((ours != theirs).sum())
    return disagreements
