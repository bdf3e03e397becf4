"""Max pooling of binary activations: an OR of bits, fused into the convolution before it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SbnError
from .base import Op, Shape, register


@register
@dataclass
class MaxPool2d(Op):
    """No padding, floor mode."""

    kernel_size: int
    stride: int
    freezes = ("MaxPool2d",)

    def output_shape(self, shape: Shape) -> Shape:
        c, h, w = shape
        oh, ow = (h - self.kernel_size) // self.stride + 1, (w - self.kernel_size) // self.stride + 1
        if oh < 1 or ow < 1:
            raise SbnError(f"max pool {self.kernel_size} does not fit input {h}x{w}")
        return (c, oh, ow)

    @classmethod
    def from_torch(cls, module) -> "MaxPool2d":
        k, s = module.kernel_size, module.stride
        if not isinstance(k, int) or not isinstance(s, int) or module.padding != 0 or module.dilation != 1 \
                or module.ceil_mode:
            raise ValueError("max pooling needs an int kernel and stride, no padding, dilation or ceil mode")
        return cls(k, s)

    def lower(self, site):
        raise SbnError("max pooling must follow a convolution and its activation")

    def reference(self, x: np.ndarray) -> np.ndarray:
        k, s = self.kernel_size, self.stride
        windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        return windows.max(axis=(4, 5))
