"""``C, H, W`` to one vector in torch's order; free in C, where the next dense layer's
weights are stored in the producer's pixel-major layout instead."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import Op, register
from .lowering import Shape


@register
@dataclass
class Flatten(Op):
    freezes = ("Flatten",)

    def output_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)

    @classmethod
    def from_torch(cls, module) -> "Flatten":
        if (module.start_dim, module.end_dim) != (1, -1):
            raise ValueError("only Flatten() of everything after the batch dimension")
        return cls()

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)
