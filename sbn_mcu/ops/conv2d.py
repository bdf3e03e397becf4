"""Binary 2-D convolution with zero padding, optionally with its max pooling fused in.

Kernels, strides and padding are per axis, so kernels may be rectangular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..errors import SbnError
from ..ir.packing import pack
from .base import Op, Shape, Site, Step, binary_weights, pair, register
from .maxpool2d import MaxPool2d


@register
@dataclass
class Conv2d(Op):
    """``weights``: int8 ±1, (out, in, kh, kw); ``stride`` and ``padding``: (height, width).

    Padding is 0, neither +1 nor -1: a padded tap adds nothing to the sum,
    which is what torch's zero padding computes (docs/semantics.md).
    """

    weights: np.ndarray
    thresholds: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    freezes = ("SBConv2d",)

    def __post_init__(self):
        self.stride, self.padding = pair(self.stride), pair(self.padding)  # files store lists (or ints)

    @property
    def kernel_size(self) -> tuple[int, int]:
        return tuple(self.weights.shape[2:])

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.weights.shape[1]:
            raise SbnError(f"convolution expects {self.weights.shape[1]} input channels but gets shape {shape}")
        sizes = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(shape[1:], self.kernel_size, self.stride, self.padding)]
        if min(sizes) < 1:
            raise SbnError(f"convolution kernel {'x'.join(map(str, self.kernel_size))} does not fit input "
                           f"{'x'.join(map(str, shape[1:]))} with padding {'x'.join(map(str, self.padding))}")
        return (self.weights.shape[0], *sizes)

    @classmethod
    def from_torch(cls, module) -> "Conv2d":
        if module.dilation != (1, 1) or module.groups != 1 or module.padding_mode != "zeros" \
                or isinstance(module.padding, str):
            raise ValueError("only zero padding given as numbers, no dilation or groups")
        return cls(binary_weights(module), None, module.stride, module.padding)

    def reference(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # padding is 0: it adds nothing
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        return np.einsum("nchwij,ocij->nohw", windows, self.weights.astype(np.int64), optimize=True)

    def fuses(self, following: Op) -> bool:
        return isinstance(following, MaxPool2d)

    def lower(self, site: Site) -> Step:
        w = self.weights
        c, h, wd = site.in_shape
        (kh, kw), out_c = self.kernel_size, w.shape[0]
        pool = site.fused
        conv_h, conv_w = self.output_shape(site.in_shape)[1:]
        (pool_h, pool_w), (pool_sh, pool_sw) = (pool.kernel_size, pool.stride) if pool else ((1, 1), (1, 1))
        geometry = {"in_c": c, "in_h": h, "in_w": wd, "out_c": out_c, "kh": kh, "kw": kw,
                    "stride_h": self.stride[0], "stride_w": self.stride[1],
                    "pad_h": self.padding[0], "pad_w": self.padding[1], "pool_h": pool_h, "pool_w": pool_w,
                    "pool_stride_h": pool_sh, "pool_stride_w": pool_sw,
                    "out_h": site.out_shape[1], "out_w": site.out_shape[2]}
        thresholds = self.thresholds
        if site.raw_bytes:
            if thresholds is None:
                raise SbnError("a convolution cannot give the class scores; end the network with a dense layer")
            (packed, thresholds), kernel = conv_u8_records(w, thresholds), "conv_u8"
        elif site.first:  # integers q: one row of bits per output channel, taps in (c, ky, kx) order
            packed, kernel = pack(w.reshape(out_c, 1, -1)), "conv_q"
        else:
            packed, kernel = pack(w.reshape(out_c, c, kh * kw).transpose(0, 2, 1)), "conv_bits"
        scratch = f"SBN_{kernel.upper()}_SCRATCH_WORDS"
        window = pool_h * pool_w
        title = (f"conv {kh}x{kw}/{axes(self.stride)} pad {axes(self.padding)}, {c} -> {out_c} channels"
                 + (f", max pool {axes((pool_h, pool_w))}/{axes((pool_sh, pool_sw))}" if pool else ""))
        if self.thresholds is None:
            raise SbnError("a convolution cannot give the class scores; end the network with a dense layer")
        return Step(index=site.index, kernel=kernel, runtime=(f"sbn_{kernel}.c",), title=title,
                    weights=packed.reshape(-1), thresholds=thresholds, threshold_type="int32_t",
                    out_shape=site.out_shape, macs=conv_h * conv_w * w[0].size * out_c,
                    integer_input=site.first, weight_bits=w.size,
                    bound=self.accumulator_bound(site.largest_input),
                    scratch_words=runtime.macro(f"sbn_{kernel}.c", scratch, c, kh, kw, window),
                    scratch_size=f"{scratch}({c}u, {kh}u, {kw}u, {window}u)",
                    geometry=("sbn_conv", geometry), word_loop=None if site.first else "mismatches",
                    call=(f"sbn_{kernel}", ["in", "weights", "geometry", "thresholds", "out", "scratch"]))


def axes(pair: tuple[int, int]) -> str:
    """A per-axis setting, once where both axes agree.

    >>> axes((1, 1)), axes((2, 1))
    ('1', '2x1')
    """
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def conv_u8_records(weights: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first convolution's weights and thresholds as ``sbn_conv_u8`` reads them.

    A channel whose last tap (in ``c, ky, kx`` order) has weight +1 is flipped:
    its weights negated and its threshold ``t' = 1 - t`` (``acc >= t`` iff not
    ``-acc >= 1 - t``); the kernel inverts its bit back. Per channel: the byte
    masks (255 for +1) of every tap but the last, four to a little-endian word,
    ``W = ceil((taps - 1) / 4)`` words; after the channels, ``ceil(out / 32)``
    words with bit ``o`` set where channel ``o`` is flipped. The thresholds as the
    kernel compares them: ``F = D + 2 * (255 * taps + 1)`` with ``D = 255 * taps - t'``
    clamped to ``[-1, 510 * taps]``.

    >>> words, f = conv_u8_records(np.array([[[[1, -1, 1]]], [[[1, 1, -1]]]]), np.array([5, -3]))
    >>> words.tolist(), f.tolist()
    ([65280, 65535, 1], [2301, 2300])
    """
    out_c = weights.shape[0]
    flat = weights.reshape(out_c, -1).astype(np.int64)
    taps = flat.shape[1]
    if 1530 * taps + 2 >= 2 ** 31:  # the largest F, an int32
        raise SbnError(f"a first convolution of {taps} taps per output is too large for sbn_conv_u8")
    flipped = flat[:, -1] > 0
    flat = np.where(flipped[:, None], -flat, flat)
    t = np.where(flipped, 1 - thresholds.astype(np.int64), thresholds.astype(np.int64))
    words = (taps - 1 + 3) // 4
    lanes = np.zeros((out_c, 4 * words), dtype=np.uint64)
    lanes[:, :taps - 1] = np.where(flat[:, :-1] > 0, 255, 0)
    lanes = lanes.reshape(out_c, words, 4)
    masks = lanes[..., 0] | lanes[..., 1] << 8 | lanes[..., 2] << 16 | lanes[..., 3] << 24
    k = np.clip(255 * taps - t, -1, 510 * taps) + 2 * (255 * taps + 1)
    bits = np.zeros(32 * ((out_c + 31) // 32), dtype=np.uint64)
    bits[:out_c] = flipped
    flips = (bits.reshape(-1, 32) << np.arange(32, dtype=np.uint64)).sum(axis=1)
    return np.concatenate([masks.reshape(-1), flips]).astype(np.uint32), k.astype(np.int64)
