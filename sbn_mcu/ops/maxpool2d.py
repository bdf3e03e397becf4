"""Max pooling of binary activations: an OR of bits, fused into the convolution before it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SbnError
from .base import Op, pair, register
from .lowering import Shape


@register
@dataclass
class MaxPool2d(Op):
    """``kernel_size`` and ``stride``: (height, width); no padding, floor mode."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    freezes = ("MaxPool2d",)

    def __post_init__(self):
        self.kernel_size, self.stride = pair(self.kernel_size), pair(self.stride)

    def output_shape(self, shape: Shape) -> Shape:
        c, *sides = shape
        sizes = [(n - k) // s + 1 for n, k, s in zip(sides, self.kernel_size, self.stride)]
        if len(sides) != 2 or min(sizes) < 1:
            raise SbnError(f"max pool {'x'.join(map(str, self.kernel_size))} does not fit input "
                           f"{'x'.join(map(str, sides))}")
        return (c, *sizes)

    @classmethod
    def from_torch(cls, module) -> "MaxPool2d":
        if pair(module.padding) != (0, 0) or pair(module.dilation) != (1, 1) or module.ceil_mode:
            raise ValueError("max pooling needs no padding, dilation or ceil mode")
        return cls(module.kernel_size, module.stride)

    def lower(self, site):
        raise SbnError("max pooling must follow a convolution and its activation")

    def reference(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        return windows.max(axis=(4, 5))
