"""Binary 1-D convolution with zero padding, optionally with its max pooling fused in.

A 1-D convolution over ``(C, L)`` is a 2-D one over ``(C, 1, L)`` with a
``1 x k`` kernel: the reference and the C kernels are :class:`.Conv2d`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .base import OneDimensional, Op, binary_weights, register
from .lowering import Site, Step
from .conv2d import Conv2d
from .maxpool1d import MaxPool1d


@register
@dataclass
class Conv1d(OneDimensional):
    """``weights``: int8 ±1, (out, in, k)."""

    weights: np.ndarray
    thresholds: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    freezes = ("SBConv1d",)
    what = "a 1-D convolution"

    def as_2d(self) -> Conv2d:
        return Conv2d(self.weights[:, :, None, :], self.thresholds, (1, self.stride), (0, self.padding))

    @classmethod
    def from_torch(cls, module) -> "Conv1d":
        if module.dilation != (1,) or module.groups != 1 or module.padding_mode != "zeros" \
                or isinstance(module.padding, str):
            raise ValueError("only zero padding given as a number, no dilation or groups")
        return cls(binary_weights(module), None, module.stride[0], module.padding[0])

    def fuses(self, following: Op) -> bool:
        return isinstance(following, MaxPool1d)

    def lower(self, site: Site) -> Step:
        lift = lambda shape: (shape[0], 1, *shape[1:])  # noqa: E731  (C, L) -> (C, 1, L)
        step = self.as_2d().lower(replace(site, in_shape=lift(site.in_shape), out_shape=lift(site.out_shape),
                                          fused=site.fused.as_2d() if site.fused else None))
        pool = site.fused
        step.title = (f"conv1d {self.weights.shape[2]}/{self.stride} pad {self.padding}, {site.in_shape[0]} -> "
                      f"{self.weights.shape[0]} channels" + (f", max pool {pool.kernel_size}/{pool.stride}" if pool else ""))
        step.out_shape = site.out_shape
        return step
