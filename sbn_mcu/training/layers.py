"""Self-binarizing layers.

Weights and activations pass through ``tanh(v * x)``. The sharpness ``v`` is a
buffer of each layer, raised during training by a :class:`~.schedule.Sharpening`
schedule, so the network slides from smooth to binary by itself. In *hard
mode* every layer computes the exact binary network with ``sign`` (and
``sign(0) = +1``); that is the network the exported C reproduces bit for bit.

Only these layers, plus ``nn.BatchNorm1d/2d``, ``nn.MaxPool1d/2d``,
``nn.Flatten`` and ``nn.Dropout`` (removed at freeze), can be exported (see
:mod:`.freeze` and :mod:`sbn_mcu.ops`); :data:`SAVED` lists them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from ..ir.thresholds import fold_tau
from .binarizers import BINARIZERS, METHODS

NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
POOL = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")


# The torch modules a checkpoint can hold, each with the constructor arguments that rebuild
# it (read back from its attributes of the same names); sbn-mcu's own layers add themselves.
SAVED: dict[type, tuple[str, ...]] = {
    nn.BatchNorm1d: NORM, nn.BatchNorm2d: NORM, nn.MaxPool1d: POOL, nn.MaxPool2d: POOL,
    nn.Flatten: ("start_dim", "end_dim"), nn.Dropout: ("p",),
}


def saved(*arguments: str):
    """Class decorator: a checkpoint can hold this layer, rebuilt from these constructor arguments."""
    def register(cls):
        SAVED[cls] = arguments
        return cls
    return register


class SelfBinarizing(nn.Module):
    """Mixin state shared by all self-binarizing layers: sharpness ``v`` and ``hard``."""

    def _init_sbn(self, v: float = 1.0) -> None:
        self.register_buffer("v", torch.tensor(float(v)))
        self.hard = False
        self.method = "sbn"  # a key of BINARIZERS; set for a whole model with set_method
        self.input_scale = 0  # set by hard_copy on the layer that sees the input: its spec's scale
        self.normalise = False  # weight layers: see binary_weight; set with set_weight_norm
        self.grad_v = 0.0  # sbn: the sharpness of the gradient, when below v; set with set_sharpness

    def _exact(self, x: torch.Tensor, layer) -> torch.Tensor:
        """Hard mode on the input: sum the input spec's integers q exactly, then scale once.

        ``x * scale`` recovers them from the normalised input; the sum is then
        exact and its one rounded division keeps its sign, so a sum of exactly
        0 stays 0 as in the integer reference.
        """
        return layer(torch.round(x * self.input_scale)) / self.input_scale


def binary_weight(layer: nn.Module) -> torch.Tensor:
    """The layer's weight through its binarizer, normalised first if ``layer.normalise``.

    SBN can divide each output channel's weights by their mean magnitude
    before ``tanh``: the sharpness ``v`` then means the same however the
    weights grow or shrink during training. ``sign`` ignores a positive
    scale, so the binary network, and the export, are unchanged.
    """
    return BINARIZERS[layer.method].weights(layer.weight, layer.v, layer.hard, layer.grad_v, layer.normalise)


class WeightBinarizing(SelfBinarizing):
    """A layer whose weights are binarized: it computes :meth:`compute` with :func:`binary_weight`.

    It comes first among a layer's bases, so that its ``forward`` is the one torch calls."""

    def compute(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = binary_weight(self)
        if self.hard and self.input_scale:
            return self._exact(x, lambda q: self.compute(q, w))
        return self.compute(x, w)


@saved("in_features", "out_features")
class SBLinear(WeightBinarizing, nn.Linear):
    """Fully connected layer with weights ``tanh(v*w)``; no bias (batch norm follows)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)
        self._init_sbn()

    def compute(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.linear(x, w)


class BinaryConvolution(WeightBinarizing):
    """A convolution (with torch's ``nn.ConvNd`` after this class in the bases) with weights
    ``tanh(v*w)``, zero padding and no bias.

    Zero padding is exact in the binary domain: a padded position is 0, neither
    +1 nor -1, so it adds nothing to the sum. The C counts only the valid
    positions at the borders, which is the same thing (docs/semantics.md).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, padding_mode: str = "zeros") -> None:
        # the other settings train, and a checkpoint keeps them, though only the defaults export
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=False, padding_mode=padding_mode)
        self._init_sbn()

    def compute(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, w, None)


CONVOLUTION = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
               "padding_mode")


@saved(*CONVOLUTION)
class SBConv1d(BinaryConvolution, nn.Conv1d):
    """1-D convolution over (channels, length)."""


@saved(*CONVOLUTION)
class SBConv2d(BinaryConvolution, nn.Conv2d):
    """2-D convolution; kernels, strides and padding may differ per axis."""


@saved()
class SBActivation(SelfBinarizing):
    """Binary activation ``tanh(v*x)``, ``sign(x)`` in hard mode."""

    def __init__(self) -> None:
        super().__init__()
        self._init_sbn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return BINARIZERS[self.method].activations(x, self.v, self.hard, self.grad_v)


@saved()
class Scores(nn.Module):
    """A learned positive scale for the class scores while training.

    A positive scale never changes the argmax, so hard mode drops it and the
    network's output is exactly the integer scores of the C.
    """

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(-2.0))
        self.hard = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.hard else x * self.log_scale.exp()


def set_hard(model: nn.Module, hard: bool = True) -> nn.Module:
    """Switch every self-binarizing layer of ``model`` to hard (sign) or soft (tanh)."""
    for module in model.modules():
        if hasattr(module, "hard"):
            module.hard = hard
    return model


def hard_copy(model: nn.Module, input_scale: int) -> nn.Module:
    """An evaluation copy that computes the exact binary network.

    It runs in float64 and expects the normalised input of raw values
    (:meth:`sbn_mcu.ir.input_spec.InputSpec.normalise`, whose ``scale`` is
    ``input_scale``): every sum of the binary network is then exact (the
    first layer sums the spec's integers ``q``), and the batch-norm comparison
    rounds like the float64 threshold folding. Hard mode therefore agrees
    with the integer reference except where a pre-activation lands exactly on
    a batch-norm threshold, which trained networks do not do; there torch's
    fused batch norm may give a zero of either sign while the reference
    applies sign(0) = +1.
    """
    clone = copy.deepcopy(model).double().eval()
    first = next((m for m in clone.modules() if isinstance(m, WeightBinarizing)), None)
    if first is not None:
        first.input_scale = input_scale
    if isinstance(clone, nn.Sequential):
        modules = list(clone)
        for before, norm, after in zip(modules, modules[1:], modules[2:]):
            if isinstance(before, WeightBinarizing) and isinstance(norm, nn.modules.batchnorm._BatchNorm) \
                    and isinstance(after, SBActivation):
                norm.register_forward_hook(_ExactTies(input_scale if before is first else 1.0))
    return set_hard(clone, True)


class _ExactTies:
    """Batch norm's output where ``sign`` would follow float rounding rather than the threshold.

    Where a sum lands on the batch-norm mean, torch's float batch norm may
    give -1e-16 and sign -1, while the integer reference (sign(0) = +1) says
    +1. Near 0 this hook decides as freezing does: the integer sum against
    the float64 threshold of :func:`sbn_mcu.ir.thresholds.fold_tau`, compared exactly. Far
    from 0 the float output stands, so a real disagreement still shows.
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, norm, inputs, output):
        if norm.training or not norm.track_running_stats:
            return None  # batch statistics (calibration): no fixed threshold to compare with
        x = inputs[0]
        n = norm.num_features
        gamma = norm.weight.detach().double() if norm.affine else torch.ones(n, dtype=torch.float64)
        beta = norm.bias.detach().double() if norm.affine else torch.zeros(n, dtype=torch.float64)
        mean, var = norm.running_mean.double(), norm.running_var.double()
        sigma = torch.sqrt(var + norm.eps)
        # the size of the terms that cancel bounds batch norm's rounding error: per channel, with the
        # batch's largest |x| (one pass), looser than per element and three passes instead of ten
        low, high = torch.aminmax(x)
        largest = torch.maximum(-low, high)
        size = gamma.abs() * (largest + mean.abs()) / sigma + beta.abs()
        near = output.abs() <= (1e-9 * (size + 1.0)).view((1, -1) + (1,) * (x.dim() - 2))
        if not bool(near.any()):
            return None
        at = near.nonzero(as_tuple=True)
        channel = at[1]
        tau = torch.from_numpy(fold_tau(mean.cpu().numpy(), var.cpu().numpy(), norm.eps, gamma.cpu().numpy(),
                                        beta.cpu().numpy(), self.scale)).to(x.device)[channel]
        acc = torch.round(x[at] * self.scale)  # the integer sum (exact: see SelfBinarizing._exact)
        g, b = gamma.to(x.device)[channel], beta.to(x.device)[channel]
        # float64 comparisons of an integer with a double are exact
        positive = torch.where(g > 0, acc >= tau, torch.where(g < 0, acc <= tau, b >= 0))
        output[at] = torch.where(positive, 0.0, -1e-300).to(output.dtype)
        return output


def set_method(model: nn.Module, method: str) -> nn.Module:
    """Train ``model`` as a self-binarizing (``sbn``), STE (``ste``) or ``float`` network."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    for module in model.modules():
        if isinstance(module, SelfBinarizing):
            module.method = method
    return model


def clip_latent_weights(model: nn.Module) -> None:
    """STE keeps its latent weights in [-1, 1], where its gradient lives."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WeightBinarizing) and BINARIZERS[module.method].clips_latent_weights:
                module.weight.clamp_(-1.0, 1.0)


def set_weight_norm(model: nn.Module, normalise: bool) -> nn.Module:
    """Whether the SBN weight layers of ``model`` normalise their weights (see :func:`binary_weight`)."""
    for module in model.modules():
        if isinstance(module, WeightBinarizing):
            module.normalise = normalise
    return model


def set_sharpness(model: nn.Module, v: float, weight_scale: float = 1.0, fan_in_reference: float = 0.0,
                  grad_v_max: float = 0.0) -> None:
    """Set ``v`` in every activation and ``weight_scale * v`` in every weight layer (a global schedule).

    With ``fan_in_reference`` R > 0, a weight layer of fan-in F < R sharpens
    ``sqrt(R / F)`` times faster: with few taps, each weight that is still
    soft changes the sum more once it is exported as ±1. With ``grad_v_max``
    G > 0, the gradient is that of ``tanh(min(v, G) * x)`` (see the binarizer).
    """
    for module in model.modules():
        if isinstance(module, WeightBinarizing):
            fan_in = module.weight[0].numel()
            boost = max(1.0, (fan_in_reference / fan_in) ** 0.5) if fan_in_reference > 0 else 1.0
            module.v.fill_(v * weight_scale * boost)
            module.grad_v = grad_v_max * weight_scale * boost
        elif isinstance(module, SelfBinarizing):
            module.v.fill_(v)
            module.grad_v = grad_v_max
