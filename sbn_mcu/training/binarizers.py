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
    """``+1`` for ``x >= 0``, else ``-1``: the project's ``sign(0) = +1``."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class SelfBinarizing:
    name = "sbn"
    binary = True
    clips_latent_weights = False

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        if hard:
            return sign(w)
        sharp = sign(w) if torch.isinf(v) else torch.tanh(v * w)  # v = inf: the finish, sign itself
        if not 0 < grad_v < float(v):
            return sharp
        # forward tanh(v*w); backward the gradient of the gentler tanh(grad_v*w), which still
        # reaches inputs far from 0 once v is large
        gentle = torch.tanh(grad_v * w)
        return sharp.detach() + (gentle - gentle.detach())  # exactly sharp: x - x is 0 in floating point

    def activations(self, x: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return self.weights(x, v, hard, grad_v)


class StraightThrough:
    name = "ste"
    binary = True
    clips_latent_weights = True  # its gradient lives in [-1, 1]

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
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

    def weights(self, w: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return w

    def activations(self, x: torch.Tensor, v: torch.Tensor, hard: bool, grad_v: float = 0.0) -> torch.Tensor:
        return F.relu(x)


BINARIZERS = {b.name: b for b in (SelfBinarizing(), StraightThrough(), Float())}
METHODS = tuple(BINARIZERS)
assert METHODS == tuple(config.METHODS)


def binarize(x: torch.Tensor, v: torch.Tensor, hard: bool, method: str = "sbn") -> torch.Tensor:
    """A weight tensor through ``method``'s binarizer."""
    return BINARIZERS[method].weights(x, v, hard)
