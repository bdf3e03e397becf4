"""Max pooling of binary 1-D activations, fused into the convolution before it (see
:mod:`.maxpool2d`; over ``(C, L)`` it is a ``1 x k`` pool)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SbnError
from .base import Op, Shape, register
from .maxpool2d import MaxPool2d


@register
@dataclass
class MaxPool1d(Op):
    """No padding, floor mode."""

    kernel_size: int
    stride: int
    freezes = ("MaxPool1d",)

    def as_2d(self) -> MaxPool2d:
        return MaxPool2d((1, self.kernel_size), (1, self.stride))

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 2:
            raise SbnError(f"a 1-D max pool expects (channels, length) but gets shape {shape}")
        c, _, length = self.as_2d().output_shape((shape[0], 1, shape[1]))
        return (c, length)

    @classmethod
    def from_torch(cls, module) -> "MaxPool1d":
        unpack = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
        if unpack(module.padding) != 0 or unpack(module.dilation) != 1 or module.ceil_mode:
            raise ValueError("max pooling needs no padding, dilation or ceil mode")
        return cls(int(unpack(module.kernel_size)), int(unpack(module.stride)))

    def lower(self, site):
        raise SbnError("max pooling must follow a convolution and its activation")

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.as_2d().reference(x[:, :, None, :])[:, :, 0, :]
