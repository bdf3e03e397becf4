"""The op interface and its registry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SbnError

Shape = tuple[int, ...]

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


@dataclass
class Site:
    """Where an op sits in the model, as the plan lowers it."""

    index: int  # the kernel call's index (steps so far)
    in_shape: Shape
    out_shape: Shape  # after any fused op
    source_shape: Shape  # the producer's shape before any flatten (its C layout)
    first: bool  # the op sees the model's input: raw bytes, or the integers q of sbn_input_q
    largest_input: int  # the largest |input value|: the input spec's on the first layer, else 1
    raw_bytes: bool = False  # the first op sums the raw uint8 bytes (q = 2r - 255) itself
    fused: "Op | None" = None  # the op after this one that the kernel computes too
    kernel: str = ""  # the planner's choice among the op's kernels (:meth:`Op.kernels`); "" the smallest


@dataclass
class Step:
    """One kernel call of the generated C, as an op lowers it.

    ``call`` is the C function and its arguments: ints, or the names ``in``,
    ``out``, ``weights``, ``thresholds``, ``geometry``, ``scratch`` and
    ``scores``, which the template binds to this step's arrays.
    """

    index: int
    kernel: str  # the kernel's name, as bench reports it
    runtime: tuple[str, ...]  # runtime files the call needs
    title: str
    weights: np.ndarray  # packed uint32 words
    thresholds: np.ndarray | None
    threshold_type: str  # the C type of the thresholds
    out_shape: Shape
    macs: int
    integer_input: bool
    weight_bits: int
    bound: int  # the largest |acc| the layer can produce
    call: tuple[str, list]
    geometry: tuple[str, dict] | None = None  # a struct of constants: C type and fields in order
    scratch_words: int = 0
    scratch_size: str = ""  # the kernel's scratch macro, as a C expression
    word_loop: str | None = None  # the kernel's loop over weight words (marked in the runtime)
    choice: str = ""  # the site's kernel choice that gave this step ("" the smallest)
    out_words: int = 0  # words of packed output (0 for scores); set by the plan
    src: int = 0  # ping-pong buffers; set by the plan
    dst: int = 0


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
