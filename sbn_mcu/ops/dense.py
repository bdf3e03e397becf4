"""Fully connected binary layer: ``acc = sum(w * x)`` over all inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import SbnError
from .packing import pack, words_for
from .base import Op, binary_layout, binary_weights, register
from .lowering import Shape, Site, Step


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

    def kernels(self, site: Site) -> tuple[str, ...]:
        """``sums:C``: subset-sum tables over raw bytes (sbn_dense_u8_sums), built C groups of seven
        pixels at a time; every C that gives a different number of passes. ``m16``: a binary layer
        comparing mismatch counts (sbn_dense_bits_m16), the same flash as int16 thresholds."""
        n = self.weights.shape[1]
        if not site.reads_input:
            return ("m16",) if self.thresholds is not None and n < 2 ** 15 - 1 else ()
        if not (site.raw_bytes and self.thresholds is not None and 4 * 255 * n < 2 ** 31):
            return ()
        groups = -(-n // SUMS_GROUP)
        chunks = sorted({-(-groups // passes) for passes in range(1, groups + 1)}, reverse=True)
        return tuple(f"{kind}:{c}" for kind in ("sums", "offsets") for c in chunks)

    def lower(self, site: Site) -> Step:
        if site.kernel == "m16":
            if "m16" not in self.kernels(site):
                raise SbnError(f"layer {site.index} cannot compare mismatch counts (m16): it is the first, "
                               "a score layer or has 32,767 inputs or more")
            return self.lower_m16(site)
        if site.kernel.startswith("offsets:"):
            return self.lower_offsets(site, int(site.kernel.removeprefix("offsets:")))
        if site.kernel:
            return self.lower_sums(site, int(site.kernel.removeprefix("sums:")))
        w, (outputs, n) = self.weights, self.weights.shape
        scores = self.thresholds is None
        if site.reads_input:  # one weight row of n bits, packed straight, over raw bytes or integers q
            packed = pack(w[:, None, :])
            kernel, args = "dense_u8" if site.raw_bytes else "dense_q", [n, outputs]
        else:  # torch flattens C, H, W; the C stores the producer's pixels one by one
            positions, channels = binary_layout(site.source_shape)
            packed = pack(w.reshape(outputs, channels, positions).transpose(0, 2, 1))
            words = positions * words_for(channels)
            kernel, args = "dense_bits", [words, n, outputs]
        threshold_type = "sbn_acc_t"
        if scores:
            kernel += "_scores"
        elif kernel == "dense_bits" and n < 2 ** 15 and fits_int16(self.thresholds):
            # every sum and threshold fits 16 bits: half the flash for the thresholds
            kernel, threshold_type = "dense_bits_t16", "int16_t"
        tail = ["scores"] if scores else ["thresholds", "out"]
        bound, scratch = self.accumulator_bound(site.largest_input), None
        if kernel.startswith("dense_q"):
            # one word of inputs' tables and one block's sums (SBN_Q_BLOCK of them), of 64 bits where the
            # plan is wide: only an integer-input layer's sums can pass 32 bits (a binary one's are n < 2^31)
            scratch = (min(n, 32), min(outputs, Q_BLOCK), 2 if bound >= 2 ** 31 else 1)
            tail.append("scratch")
        return Step(index=site.index, kernel=kernel, title=f"dense {n} -> {outputs}",
                    weights=packed.reshape(-1), thresholds=self.thresholds, threshold_type=threshold_type,
                    out_shape=site.out_shape, macs=w.size, reads_input=site.reads_input, weight_bits=w.size,
                    bound=bound, scratch=scratch,
                    word_loop=("xor_bytesum" if site.raw_bytes else None) if site.reads_input else "mismatches",
                    args=["in", "weights", *args, *tail])


    def lower_sums(self, site: Site, chunk: int) -> Step:
        """sbn_dense_u8_sums: weight bytes of seven bits each, doubled, in blocks of eight rows
        (see the kernel's file); thresholds t + 255 W, so that the kernel compares 4 S - 2 P."""
        w, (outputs, n) = self.weights, self.weights.shape
        groups, blocks = -(-n // SUMS_GROUP), -(-outputs // SUMS_BLOCK)
        bits = np.zeros((blocks * SUMS_BLOCK, groups * SUMS_GROUP), np.uint32)
        bits[:outputs, :n] = w > 0
        weights = 2 * (bits.reshape(len(bits), groups, SUMS_GROUP) << np.arange(SUMS_GROUP, dtype=np.uint32)).sum(2)
        data = weights.reshape(blocks, SUMS_BLOCK, groups).transpose(0, 2, 1).astype(np.uint8).reshape(-1)
        data = np.concatenate([data, np.zeros(-len(data) % 4, np.uint8)])
        # |4S - 2P| < 2^30 (n < 2^21): clipped to +-2^30, c compares the same and 4S - 2P - c fits int32
        thresholds = np.clip(self.thresholds + 255 * w.sum(axis=1, dtype=np.int64), -2 ** 30, 2 ** 30)
        return Step(index=site.index, kernel="dense_u8_sums",
                    title=f"dense {n} -> {outputs}", weights=data.view("<u4").astype(np.uint32),
                    thresholds=thresholds, threshold_type="sbn_acc_t", out_shape=site.out_shape, macs=w.size,
                    reads_input=True, weight_bits=w.size, bound=self.accumulator_bound(site.largest_input),
                    scratch=(chunk, outputs), choice=site.kernel,
                    args=["in", "weights", n, outputs, chunk, "thresholds", "out", "scratch"])


    def lower_offsets(self, site: Site, chunk: int) -> Step:
        """sbn_dense_u8_offsets: per chunk of groups and output, the uint32 byte offsets 256 g + 2 i of the
        entries its weights pick in the chunk's tables, padded with 0 to a multiple of OFFSETS_UNIT (see
        the kernel's file); thresholds t + 255 W, as sbn_dense_u8_sums."""
        w, (outputs, n) = self.weights, self.weights.shape
        groups = -(-n // SUMS_GROUP)
        bits = np.zeros((outputs, groups * SUMS_GROUP), np.uint32)
        bits[:, :n] = w > 0
        index = (bits.reshape(outputs, groups, SUMS_GROUP) << np.arange(SUMS_GROUP, dtype=np.uint32)).sum(2)
        parts = []
        for g0 in range(0, groups, chunk):
            count = min(chunk, groups - g0)
            offsets = np.zeros((outputs, -(-count // OFFSETS_UNIT) * OFFSETS_UNIT), np.uint32)
            offsets[:, :count] = 256 * np.arange(count, dtype=np.uint32) + 2 * index[:, g0:g0 + count]
            parts.append(offsets.reshape(-1))
        # |4S - 2P| < 2^30 (n < 2^21): clipped to +-2^30, c compares the same and 4S - 2P - c fits int32
        thresholds = np.clip(self.thresholds + 255 * w.sum(axis=1, dtype=np.int64), -2 ** 30, 2 ** 30)
        return Step(index=site.index, kernel="dense_u8_offsets",
                    title=f"dense {n} -> {outputs}", weights=np.concatenate(parts).astype(np.uint32),
                    thresholds=thresholds, threshold_type="sbn_acc_t", out_shape=site.out_shape, macs=w.size,
                    reads_input=True, weight_bits=w.size, bound=self.accumulator_bound(site.largest_input),
                    scratch=(chunk, outputs), choice=site.kernel,
                    args=["in", "weights", n, outputs, chunk, "thresholds", "out", "scratch"])

    def lower_m16(self, site: Site) -> Step:
        """sbn_dense_bits_m16: the weights of sbn_dense_bits, and per output the limit on the mismatch
        count m below which acc = n - 2m >= t: floor((n - t) / 2) + 1, clamped to 0 .. n + 1."""
        step = self.lower(replace(site, kernel=""))
        n = self.weights.shape[1]
        limits = np.clip((n - self.thresholds) // 2 + 1, 0, n + 1)
        words = step.args[2]
        return replace(step, kernel="dense_bits_m16", thresholds=limits,
                       threshold_type="int16_t", choice=site.kernel,
                       args=["in", "weights", words, self.weights.shape[0], "thresholds", "out"])


SUMS_GROUP, SUMS_BLOCK = 7, 8  # pixels per table and rows per pass: SBN_SUMS_GROUP, SBN_SUMS_BLOCK
OFFSETS_UNIT = 14  # lookups per loop pass of sbn_dense_u8_offsets: SBN_OFFSETS_UNIT
Q_BLOCK = 32  # outputs sbn_dense_q sums per pass over its tables: SBN_Q_BLOCK


def fits_int16(values: np.ndarray) -> bool:
    """Whether every value fits an int16_t.

    >>> fits_int16(np.array([-32768, 32767])), fits_int16(np.array([32768]))
    (True, False)
    """
    return bool(values.size == 0 or (values.min() >= -2 ** 15 and values.max() < 2 ** 15))
