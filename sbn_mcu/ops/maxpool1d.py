"""Max pooling of binary 1-D activations, fused into the convolution before it (see
:mod:`.maxpool2d`; over ``(C, L)`` it is a ``1 x k`` pool)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SbnError
from .base import OneDimensional, register
from .maxpool2d import MaxPool2d


@register
@dataclass
class MaxPool1d(OneDimensional):
    """No padding, floor mode."""

    kernel_size: int
    stride: int
    freezes = ("MaxPool1d",)
    what = "a 1-D max pool"

    def as_2d(self) -> MaxPool2d:
        return MaxPool2d((1, self.kernel_size), (1, self.stride))

    @classmethod
    def from_torch(cls, module) -> "MaxPool1d":
        unpack = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
        if unpack(module.padding) != 0 or unpack(module.dilation) != 1 or module.ceil_mode:
            raise ValueError("max pooling needs no padding, dilation or ceil mode")
        return cls(int(unpack(module.kernel_size)), int(unpack(module.stride)))

    def lower(self, site):
        raise SbnError("max pooling must follow a convolution and its activation")
