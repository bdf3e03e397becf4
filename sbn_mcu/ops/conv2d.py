"""Binary 2-D convolution with zero padding, optionally with its max pooling fused in.

Kernels, strides and padding are per axis, so kernels may be rectangular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SbnError
from .packing import pack
from .base import Op, binary_weights, pair, register
from .lowering import Shape, Site, Step
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

    def kernels(self, site: Site) -> tuple[str, ...]:
        """``lut16``: a binary convolution by a 16-bit popcount table (sbn_conv_bits_lut, 64 KB of
        flash); ``3x3``: a first 3x3 convolution over one channel of raw bytes (sbn_conv_u8_3x3). Both
        with thresholds per border case."""
        if self.thresholds is None or site.reads_input and not site.raw_bytes:
            return ()
        if site.raw_bytes:  # sbn_conv_u8_3x3: thresholds per border case, for 3x3 kernels over one channel
            return ("3x3",) if self.weights.shape[1:] == (1, 3, 3) else ()
        return ("lut16",)

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
        elif site.reads_input:  # integers q: one row of bits per output channel, taps in (c, ky, kx) order
            packed, kernel = pack(w.reshape(out_c, 1, -1)), "conv_q"
        else:
            packed, kernel = pack(w.reshape(out_c, c, kh * kw).transpose(0, 2, 1)), "conv_bits"
        window = pool_h * pool_w
        title = (f"conv {kh}x{kw}/{axes(self.stride)} pad {axes(self.padding)}, {c} -> {out_c} channels"
                 + (f", max pool {axes((pool_h, pool_w))}/{axes((pool_sh, pool_sw))}" if pool else ""))
        if self.thresholds is None:
            raise SbnError("a convolution cannot give the class scores; end the network with a dense layer")
        if site.kernel == "3x3" and kernel == "conv_u8":
            records, thresholds = conv_u8_3x3_records(w, self.thresholds, (h, wd), self.stride, self.padding)
            kernel = "conv_u8_3x3"
            sizes = (h, wd, *self.padding)
            return Step(index=site.index, kernel=kernel, title=title,
                        weights=records, thresholds=thresholds, threshold_type="int32_t", out_shape=site.out_shape,
                        macs=conv_h * conv_w * w[0].size * out_c, reads_input=True, weight_bits=w.size,
                        bound=self.accumulator_bound(site.largest_input),
                        scratch=tuple(sizes), choice=site.kernel,
                        geometry=("sbn_conv", geometry),
                        args=["in", "weights", "geometry", "thresholds", "out", "scratch"])
        if site.kernel == "lut16" and kernel == "conv_bits":  # weights in (kx, ky, channel) order
            packed = pack(w.transpose(0, 3, 2, 1).reshape(out_c, kw * kh, c))
            records, thresholds = conv_bits_lut_records(w, self.thresholds, (h, wd), self.stride, self.padding)
            kernel = "conv_bits_lut"
            sizes = (c, kh, (h + 2 * self.padding[0] - kh) // self.stride[0] + 1, wd + 2 * self.padding[1], window)
            return Step(index=site.index, kernel=kernel, title=title,
                        weights=np.concatenate([packed.reshape(-1), records]), thresholds=thresholds,
                        threshold_type="int32_t", out_shape=site.out_shape,
                        macs=conv_h * conv_w * w[0].size * out_c, reads_input=False, weight_bits=w.size,
                        bound=self.accumulator_bound(site.largest_input),
                        scratch=tuple(sizes), choice=site.kernel,
                        geometry=("sbn_conv", geometry),
                        args=["in", "weights", "geometry", "thresholds", "out", "scratch"])
        return Step(index=site.index, kernel=kernel, title=title,
                    weights=packed.reshape(-1), thresholds=thresholds, threshold_type="int32_t",
                    out_shape=site.out_shape, macs=conv_h * conv_w * w[0].size * out_c,
                    reads_input=site.reads_input, weight_bits=w.size,
                    bound=self.accumulator_bound(site.largest_input),
                    scratch=(c, kh, kw, window),
                    geometry=("sbn_conv", geometry), word_loop=None if site.reads_input else "mismatches",
                    args=["in", "weights", "geometry", "thresholds", "out", "scratch"])


def axes(pair: tuple[int, int]) -> str:
    """A per-axis setting, once where both axes agree.

    >>> axes((1, 1)), axes((2, 1))
    ('1', '2x1')
    """
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def conv_bits_lut_records(weights: np.ndarray, thresholds: np.ndarray, size: tuple[int, int],
                          stride: tuple[int, int], padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A binary convolution's border cases and thresholds as ``sbn_conv_bits_lut`` reads them.

    The kernel counts the mismatches ``m`` of every tap, a padded tap's input
    being 0: such a tap mismatches by its weights' bit count. So with ``n``
    taps inside the input, ``acc >= t`` iff ``m <= K``, ``K = floor((n * in_c - t) / 2) + E``
    and ``E`` the bit count of the padded taps' weights, clamped to ``[-1, taps * in_c]``;
    the kernel starts its count at ``-(K + 1)`` and takes the sign. A case is a
    conv row's set of padded kernel rows with a conv column's set of padded
    kernel columns. Returns the offsets into the thresholds, one per conv row
    (its case times the column cases times ``out``) then one per conv column
    (its case times ``out``), and the thresholds ``-(K + 1)`` by row case,
    column case and channel.

    >>> rows, k = conv_bits_lut_records(np.array([[[[1, -1]]]]), np.array([0]), (1, 3), (1, 1), (0, 1))
    >>> rows.tolist(), k.tolist()
    ([0, 0, 2, 2, 1], [-2, -1, -2])
    """
    out_c, in_c, kh, kw = weights.shape
    plus = (weights > 0).sum(axis=1)  # (out, kh, kw): each tap's weight bits

    (row_cases, row_of), (col_cases, col_of) = border_cases(size, (kh, kw), stride, padding)
    inside = row_cases[:, None, :, None] & col_cases[None, :, None, :]  # (rows, cols, kh, kw)
    n = inside.sum(axis=(2, 3)).astype(np.int64)
    extra = np.einsum("rcij,oij->rco", (~inside).astype(np.int64), plus.astype(np.int64))
    k = (n[..., None] * in_c - thresholds.astype(np.int64)) // 2 + extra
    k = np.clip(k, -1, kh * kw * in_c)
    offsets = np.concatenate([row_of * len(col_cases) * out_c, col_of * out_c])
    return offsets.astype(np.uint32), -(k.reshape(-1) + 1)


def border_cases(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int]) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Per axis: the distinct sets of kernel rows (columns) inside the input, as booleans (case,
    tap), and each conv row's (column's) case.

    >>> (rows, of), _ = border_cases((3, 3), (2, 2), (1, 1), (1, 1))
    >>> rows.tolist(), of.tolist()
    ([[False, True], [True, False], [True, True]], [0, 2, 2, 1])
    """
    found = []
    for n, k, s, p in zip(size, kernel, stride, padding):
        starts = np.arange((n + 2 * p - k) // s + 1) * s - p
        inside = (starts[:, None] + np.arange(k) >= 0) & (starts[:, None] + np.arange(k) < n)
        unique, index = np.unique(inside, axis=0, return_inverse=True)
        found.append((unique, index.reshape(-1)))
    return found[0], found[1]


def conv_u8_3x3_records(weights: np.ndarray, thresholds: np.ndarray, size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A first 3x3 convolution over one channel of raw bytes as ``sbn_conv_u8_3x3`` reads it.

    Channels flip as in :func:`conv_u8_records` (the last tap's weight +1: weights
    negated, ``t' = 1 - t``, the bit inverted back by the flip words). Per
    channel, two words of byte masks (255 for +1): taps 0 1 2 6 and 3 4 5 7; then
    the thresholds' offsets, one per conv row (its case times the column cases
    times ``out``) and one per conv column (its case times ``out``); then
    ``ceil(out / 32)`` flip words; then per channel the two masks as byte offsets
    ``2 a | (32 + 2 b) << 16`` into the two tables of 16 halfwords that cores
    without usada8 build per position. The thresholds by row case, column case and
    channel: ``R = floor((255 (n + 2 E) - t') / 2) + 1`` clamped to ``[0, 2296]``,
    ``n`` the taps inside the input and ``E`` the padded taps of mask 255, so that
    the bit is ``R >= S + 1`` with ``S`` the sum of ``|p - m|`` over all nine taps,
    padded pixels 0.

    >>> words, r = conv_u8_3x3_records(np.array([[[[1, -1, 1], [1, 1, 1], [-1, -1, 1]]]]), np.array([7]),
    ...                                (3, 3), (1, 1), (0, 0))
    >>> [hex(v) for v in words], r.tolist()
    (['0xff00ff00', '0xff000000', '0x0', '0x0', '0x1', '0x300014'], [1151])
    """
    out_c = weights.shape[0]
    flat = weights.reshape(out_c, 9).astype(np.int64)
    flipped = flat[:, -1] > 0
    flat = np.where(flipped[:, None], -flat, flat)
    t = np.where(flipped, 1 - thresholds.astype(np.int64), thresholds.astype(np.int64))
    masks = np.where(flat > 0, 255, 0).astype(np.uint64)
    lanes = masks[:, [0, 1, 2, 6, 3, 4, 5, 7]].reshape(out_c, 2, 4) << (8 * np.arange(4, dtype=np.uint64))
    (row_cases, row_of), (col_cases, col_of) = border_cases(size, (3, 3), stride, padding)
    inside = row_cases[:, None, :, None] & col_cases[None, :, None, :]  # (rows, cols, 3, 3)
    n = inside.sum(axis=(2, 3)).astype(np.int64)
    plus = (flat > 0).reshape(out_c, 3, 3).astype(np.int64)
    padded_plus = np.einsum("rcij,oij->rco", (~inside).astype(np.int64), plus)
    r = np.clip((255 * (n[..., None] + 2 * padded_plus) - t) // 2 + 1, 0, 2296)
    bits = np.zeros(32 * ((out_c + 31) // 32), dtype=np.uint64)
    bits[:out_c] = flipped
    flips = (bits.reshape(-1, 32) << np.arange(32, dtype=np.uint64)).sum(axis=1)
    offsets = np.concatenate([row_of * len(col_cases) * out_c, col_of * out_c]).astype(np.uint64)
    nibbles = ((masks[:, [0, 1, 2, 6, 3, 4, 5, 7]] > 0).reshape(out_c, 2, 4) << np.arange(4)).sum(axis=2)
    index = (2 * nibbles[:, 0] | (32 + 2 * nibbles[:, 1]) << 16).astype(np.uint64)
    words = np.concatenate([lanes.sum(axis=2).reshape(-1), offsets, flips, index])
    return words.astype(np.uint32), r.reshape(-1)


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
