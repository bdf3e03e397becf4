"""Binarizers: how a method turns weights and activations into (soft) ±1.

Small objects, one per method, so that the layers hold no method ladder:

- :class:`SelfBinarizing` (``sbn``): ``tanh(v * x)`` while training, ``sign``
  in hard mode. One representation from start to end: no latent weights
  behind a straight-through gradient.
- :class:`StraightThrough` (``ste``): BinaryNet's baseline, ``sign`` forward
  with the gradient of ``hardtanh``; its latent weights stay in [-1, 1].
- :class:`Float` (``float``): the float baseline of the same architecture,
  ReLU activations, not exportable.

In hard mode every binary method computes ``sign(x)`` with ``sign(0) = +1``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from . import config


def sign(x: torch.Tensor) -> torch.Tensor:
    """``+1`` for ``x >= 0``, else ``-1``: the project's ``sign(0) = +1``, for ``-0.0`` too.

    torch's ``sign`` gives -1, 0 or +1 (-0.0 for -0.0); adding one half and
    taking the sign again sends both zeros to +1. Two in-place passes after
    the first: on the CPU about twice as fast as ``copysign`` and fifteen
    times as fast as ``where(x >= 0, ...)``, which dominated the sign steps
    of training and the hard evaluations.
    """
    return torch.sign(x.detach()).add_(0.5).sign_()  # no gradient, as where


class SharpTanh(torch.autograd.Function):
    """``tanh(v * u)`` (``sign(u)`` for ``v = inf``) with the gradient of ``tanh(g * u)``.

    ``u`` is ``x``, or with ``normalise`` each output channel of ``x`` divided
    by its mean magnitude. ``g`` is ``grad_v`` where it is below ``v``, else
    ``v``. One function rather than a chain of torch operations: the weight
    transform runs every step on every weight, and its fewer passes over
    memory keep SBN's step close to the float network's.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, v: torch.Tensor, grad_v: float, normalise: bool) -> torch.Tensor:
        flat = x.reshape(len(x), -1) if normalise else x
        # per output channel 1 / mean|w|; a Python 1 where nothing is normalised
        inverse = 1 / flat.abs().mean(dim=1, keepdim=True).clamp_min(1e-12) if normalise else 1
        g = grad_v if 0 < grad_v < float(v) else v
        # in place on fresh products: each tanh is one pass and no new tensor
        y = sign(flat) if torch.isinf(v) else torch.mul(flat, v * inverse).tanh_()
        slope = y if g is v else torch.mul(flat, g * inverse).tanh_()
        ctx.save_for_backward(flat, slope, inverse if normalise else None)
        ctx.g, ctx.shape = g, x.shape
        return y.view(x.shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        flat, slope, inverse = ctx.saved_tensors
        grad_u = torch.ops.aten.tanh_backward(grad.reshape(slope.shape), slope)
        if inverse is None:
            return (grad_u * ctx.g).view(ctx.shape), None, None, None
        # u = w / mean|w|, and the mean depends on every w_j through sign(w_j) / n:
        # dL/dw_j = G_j / m - sign(w_j) * sum_i(G_i w_i) / (n m^2), with G = dL/du
        scaled = grad_u.mul_(ctx.g * inverse)  # grad_u is this function's own
        along = torch.linalg.vecdot(scaled, flat).unsqueeze(1) * (inverse / flat.shape[1])
        return scaled.sub_(torch.sign(flat).mul_(along)).view(ctx.shape), None, None, None  # addcmul_ broadcasts slowly


class SelfBinarizing:
    name = "sbn"
    binary = True
    clips_latent_weights = False

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0,
                normalise: bool = False) -> torch.Tensor:
        """``tanh(v * w)``, or ``sign`` in hard mode; see :class:`SharpTanh` for the options."""
        return sign(w) if hard else SharpTanh.apply(w, v, grad_v, normalise)

    def activations(self, x: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return self.weights(x, v, hard, grad_v)


class StraightThrough:
    name = "ste"
    binary = True
    clips_latent_weights = True  # its gradient lives in [-1, 1]

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0,
                normalise: bool = False) -> torch.Tensor:
        if hard:
            return sign(w)
        clipped = w.clamp(-1.0, 1.0)
        return clipped + (sign(w) - clipped).detach()  # forward: sign; backward: 1 inside [-1, 1]

    def activations(self, x: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return self.weights(x, v, hard)


class Float:
    name = "float"
    binary = False
    clips_latent_weights = False

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0,
                normalise: bool = False) -> torch.Tensor:
        return w

    def activations(self, x: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return F.relu(x)


BINARIZERS = {b.name: b for b in (SelfBinarizing(), StraightThrough(), Float())}
METHODS = tuple(BINARIZERS)
assert METHODS == tuple(config.METHODS)

