"""The sharpening schedule: how ``v`` in ``tanh(v*x)`` grows towards ``sign``.

The defaults and the measurements that chose them are in docs/training.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPES = ("exponential", "linear")


@dataclass
class Sharpening:
    """``v`` from ``start`` to ``end`` over ``steps`` optimisation steps.

    ``exponential`` multiplies ``v`` by the same factor every step, which gives
    each decade of sharpness equal training time; ``linear`` adds a constant.
    ``v`` reaches ``end`` ``finish`` steps before ``steps`` and stays there; those
    last ``finish`` steps forward ``sign`` itself (see :meth:`forward_and_gradient`).

    >>> s = Sharpening(1.0, 100.0, steps=2)
    >>> [round(s.value, 6) for _ in range(3) if s.step() is None or True]
    [10.0, 100.0, 100.0]
    """

    start: float
    end: float
    steps: int
    shape: str = "exponential"
    finish: int = 0
    step_count: int = 0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown schedule shape {self.shape!r}; choose one of {', '.join(SHAPES)}")
        if not (0 < self.start < math.inf and 0 < self.end < math.inf):
            raise ValueError("sharpness start and end must be positive and finite")
        if not 0 <= self.finish < self.steps:
            raise ValueError("the schedule needs at least one step before its finish")

    @property
    def value(self) -> float:
        t = min(self.step_count / (self.steps - self.finish), 1.0)
        if t == 1.0:
            return self.end
        if self.shape == "linear":
            return self.start + (self.end - self.start) * t
        return math.exp(math.log(self.start) + (math.log(self.end) - math.log(self.start)) * t)

    def forward_and_gradient(self, cap: float) -> tuple[float, float]:
        """``v`` of the forward pass and the sharpness of its gradient, ``cap`` (0: none) applied.

        During the finish ``v`` is infinite, ``sign`` itself, and the gradient is that of
        ``tanh`` at ``end`` (or at ``cap``, if lower).
        """
        if self.step_count < self.steps - self.finish:
            return self.value, cap
        return math.inf, min(cap or self.end, self.end)

    def step(self) -> None:
        """Advance one optimisation step."""
        self.step_count += 1
