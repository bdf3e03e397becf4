"""Fully connected binary layer: ``acc = sum(w * x)`` over all inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SbnError
from ..ir.packing import pack, words_for
from .base import Op, Shape, Site, Step, binary_layout, binary_weights, register


@register
@dataclass
class Dense(Op):
    """``weights``: int8 ±1, (out, in) in torch's order; ``thresholds`` int64 (out,), None for scores."""

    weights: np.ndarray
    thresholds: np.ndarray | None = None
    freezes = ("SBLinear",)

    def output_shape(self, shape: Shape) -> Shape:
        if math.prod(shape) != self.weights.shape[1]:
            raise SbnError(f"dense layer expects {self.weights.shape[1]} inputs but gets shape {shape}")
        return (self.weights.shape[0],)

    @classmethod
    def from_torch(cls, module) -> "Dense":
        return cls(binary_weights(module))

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1) @ self.weights.T.astype(np.int64)

    def lower(self, site: Site) -> Step:
        w, (outputs, n) = self.weights, self.weights.shape
        scores = self.thresholds is None
        if site.first:  # one weight row of n bits, packed straight, over raw bytes or integers q
            packed = pack(w[:, None, :])
            kernel, args = "dense_u8" if site.raw_bytes else "dense_q", [n, outputs]
        else:  # torch flattens C, H, W; the C stores the producer's pixels one by one
            positions, channels = binary_layout(site.source_shape)
            packed = pack(w.reshape(outputs, channels, positions).transpose(0, 2, 1))
            words = positions * words_for(channels)
            kernel, args = "dense_bits", [words, n, outputs]
        function = f"sbn_{kernel}_scores" if scores else f"sbn_{kernel}"
        threshold_type = "sbn_acc_t"
        if kernel == "dense_bits" and not scores and n < 2 ** 15 and fits_int16(self.thresholds):
            # every sum and threshold fits 16 bits: half the flash for the thresholds
            function, threshold_type = "sbn_dense_bits_t16", "int16_t"
        tail = ["scores"] if scores else ["thresholds", "out"]
        return Step(index=site.index, kernel=kernel, runtime=(f"{function}.c",), title=f"dense {n} -> {outputs}",
                    weights=packed.reshape(-1), thresholds=self.thresholds, threshold_type=threshold_type,
                    out_shape=site.out_shape, macs=w.size, integer_input=site.first, weight_bits=w.size,
                    bound=self.accumulator_bound(site.largest_input),
                    word_loop=("xor_bytesum" if site.raw_bytes else None) if site.first else "mismatches",
                    call=(function, ["in", "weights", *args, *tail]))


def fits_int16(values: np.ndarray) -> bool:
    """Whether every value fits an int16_t.

    >>> fits_int16(np.array([-32768, 32767])), fits_int16(np.array([32768]))
    (True, False)
    """
    return bool(values.size == 0 or (values.min() >= -2 ** 15 and values.max() < 2 ** 15))
