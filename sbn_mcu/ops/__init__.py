"""One unit per layer kind, found through a registry instead of ``isinstance`` ladders.

Each op module defines a frozen-IR dataclass that subclasses :class:`Op` and
holds everything about its layer kind:

- the IR fields (numpy arrays and ints) and :meth:`Op.output_shape`;
- its freeze rule, :meth:`Op.from_torch` (duck-typed: no torch import here),
  for the torch modules named in :attr:`Op.freezes`;
- its reference step, :meth:`Op.reference`, on ±1 / integer numpy arrays;
- its lowering, :meth:`Op.lower`: packed constants, scratch, MACs, the
  accumulator bound and the C call, as a :class:`~sbn_mcu.ops.lowering.Step`.

Adding a layer kind is one module here, its kernel in ``runtime/`` and, for a
new torch layer, its class in ``training/layers.py``.
"""

from __future__ import annotations

from .base import OPS, Op, by_kind, for_torch, register
from .conv1d import Conv1d
from .conv2d import Conv2d
from .dense import Dense
from .flatten import Flatten
from .maxpool1d import MaxPool1d
from .maxpool2d import MaxPool2d

__all__ = ["OPS", "Op", "by_kind", "for_torch", "register", "Conv1d", "Conv2d", "Dense", "Flatten", "MaxPool1d",
           "MaxPool2d"]
