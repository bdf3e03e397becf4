"""The op interface and its registry."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from ..errors import SbnError
from .lowering import Shape, Site

OPS: dict[str, type["Op"]] = {}  # file-format kind -> op class


def register(cls: type["Op"]) -> type["Op"]:
    """Class decorator: make an op known to the file format, freeze and the plan."""
    OPS[cls.__name__] = cls
    return cls


def by_kind(kind: str) -> type["Op"] | None:
    """The op class stored under ``kind`` in a frozen-model file, or None."""
    return OPS.get(kind)


def for_torch(module) -> type["Op"] | None:
    """The op that freezes this torch module, by its class name, or None."""
    name = type(module).__name__
    return next((op for op in OPS.values() if name in op.freezes), None)


class Op:
    """A frozen layer. Subclasses are dataclasses; see the package docstring."""

    freezes: ClassVar[tuple[str, ...]] = ()  # torch module class names frozen into this op
    thresholds: np.ndarray | None = None  # binary ops: +1 iff acc >= threshold; None for scores

    def output_shape(self, shape: Shape) -> Shape:
        raise NotImplementedError

    @classmethod
    def from_torch(cls, module) -> "Op":
        """The IR of a torch module; raises ValueError with the reason it cannot be frozen."""
        raise NotImplementedError

    def reference(self, x: np.ndarray) -> np.ndarray:
        """This op on a batch of int64 ±1 (or first-layer integer) values, before any threshold."""
        raise NotImplementedError

    def fuses(self, following: "Op") -> bool:
        """Whether this op's kernel also computes ``following`` (e.g. a convolution and its pooling)."""
        return False

    def lower(self, site: Site):
        """The kernel call (a Step) for ``site.kernel``, or None when the op costs nothing in C."""
        return None

    def kernels(self, site: Site) -> tuple[str, ...]:
        """The faster kernels this op can take at ``site`` besides its smallest one (``site.kernel``
        names them), for the planner to weigh against their memory."""
        return ()

    # binary ops (those with weights) share these
    @property
    def has_weights(self) -> bool:
        return getattr(self, "weights", None) is not None

    @property
    def fan_in(self) -> int:
        return int(np.prod(self.weights.shape[1:]))

    def accumulator_bound(self, largest_input: int) -> int:
        """The largest ``|acc|``: fan-in times the largest input value."""
        return self.fan_in * largest_input


class OneDimensional(Op):
    """An op over ``(C, L)`` that is its 2-D twin over ``(C, 1, L)`` (:meth:`as_2d`): shapes and
    the reference go through the twin, so 1-D and 2-D compute alike by construction."""

    what: ClassVar[str] = "a 1-D op"  # for messages

    def as_2d(self) -> Op:
        raise NotImplementedError

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 2:
            raise SbnError(f"{self.what} expects (channels, length) but gets shape {shape}")
        channels, _, length = self.as_2d().output_shape((shape[0], 1, shape[1]))
        return (channels, length)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return self.as_2d().reference(x[:, :, None, :])[:, :, 0, :]


def binary_weights(module) -> np.ndarray:
    """A torch layer's weights as int8 ±1 with ``sign(0) = +1``."""
    w = module.weight.detach().cpu().double().numpy()
    if not np.all(np.isfinite(w)):
        raise SbnError(f"{type(module).__name__} weights contain NaN or Inf; the checkpoint is not usable")
    return np.where(w >= 0, 1, -1).astype(np.int8)


def pair(value) -> tuple[int, int]:
    """An int or a pair (torch's and the file format's forms) as a (height, width) pair.

    >>> pair(3), pair([1, 2])
    ((3, 3), (1, 2))
    """
    return (int(value), int(value)) if np.ndim(value) == 0 else (int(value[0]), int(value[1]))


def binary_layout(shape: Shape) -> tuple[int, int]:
    """(positions, channels) of a binary tensor in C: pixels × channels, or 1 × n."""
    return (math.prod(shape[1:]), shape[0]) if len(shape) > 1 else (1, shape[0])
