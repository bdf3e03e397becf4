"""Binary 2-D convolution with zero padding, optionally with its max pooling fused in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..errors import SbnError
from ..ir.packing import pack
from .base import Op, Shape, Site, Step, binary_weights, register
from .maxpool2d import MaxPool2d


@register
@dataclass
class Conv2d(Op):
    """``weights``: int8 ±1, (out, in, k, k); a square kernel.

    Padding is 0, neither +1 nor -1: a padded tap adds nothing to the sum,
    which is what torch's zero padding computes (docs/semantics.md).
    """

    weights: np.ndarray
    thresholds: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    freezes = ("SBConv2d",)

    @property
    def kernel_size(self) -> int:
        return self.weights.shape[2]

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.weights.shape[1]:
            raise SbnError(f"convolution expects {self.weights.shape[1]} input channels but gets shape {shape}")
        c, h, w = shape
        k, s, p = self.kernel_size, self.stride, self.padding
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if oh < 1 or ow < 1:
            raise SbnError(f"convolution kernel {k} does not fit input {h}x{w} with padding {p}")
        return (self.weights.shape[0], oh, ow)

    @classmethod
    def from_torch(cls, module) -> "Conv2d":
        if module.kernel_size[0] != module.kernel_size[1] or module.stride[0] != module.stride[1] \
                or module.padding[0] != module.padding[1] or module.dilation != (1, 1) or module.groups != 1 \
                or module.padding_mode != "zeros":
            raise ValueError("only square kernels, equal strides/padding, zero padding, no dilation or groups")
        return cls(binary_weights(module), None, module.stride[0], module.padding[0])

    def reference(self, x: np.ndarray) -> np.ndarray:
        k, s, p = self.kernel_size, self.stride, self.padding
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # padding is 0: it adds nothing
        windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        return np.einsum("nchwij,ocij->nohw", windows, self.weights.astype(np.int64), optimize=True)

    def fuses(self, following: Op) -> bool:
        return isinstance(following, MaxPool2d)

    def lower(self, site: Site) -> Step:
        w = self.weights
        c, h, wd = site.in_shape
        k, out_c = self.kernel_size, w.shape[0]
        pool = site.fused
        conv_h, conv_w = self.output_shape(site.in_shape)[1:]
        window = pool.kernel_size if pool else 1
        geometry = {"in_c": c, "in_h": h, "in_w": wd, "out_c": out_c, "k": k, "stride": self.stride,
                    "pad": self.padding, "pool": window, "pool_stride": pool.stride if pool else 1,
                    "out_h": site.out_shape[1], "out_w": site.out_shape[2]}
        if site.raw_bytes:
            packed, kernel = byte_masks(w), "conv_u8"
        elif site.first:  # integers q: one row of bits per output channel, taps in (c, ky, kx) order
            packed, kernel = pack(w.reshape(out_c, 1, -1)), "conv_q"
        else:
            packed, kernel = pack(w.reshape(out_c, c, k * k).transpose(0, 2, 1)), "conv_bits"
        scratch_macro = f"SBN_{kernel.upper()}_SCRATCH_WORDS" if kernel != "conv_q" else None
        title = (f"conv {k}x{k}/{self.stride} pad {self.padding}, {c} -> {out_c} channels"
                 + (f", max pool {pool.kernel_size}/{pool.stride}" if pool else ""))
        if self.thresholds is None:
            raise SbnError("a convolution cannot give the class scores; end the network with a dense layer")
        return Step(index=site.index, kernel=kernel, runtime=(f"sbn_{kernel}.c",), title=title,
                    weights=packed.reshape(-1), thresholds=self.thresholds, threshold_type="int32_t",
                    out_shape=site.out_shape, macs=conv_h * conv_w * w[0].size * out_c,
                    integer_input=site.first, weight_bits=w.size,
                    bound=self.accumulator_bound(site.largest_input),
                    scratch_words=runtime.macro(f"sbn_{kernel}.c", scratch_macro, c, k, window) if scratch_macro else 0,
                    scratch_size=f"{scratch_macro}({c}u, {k}u, {window}u)" if scratch_macro else "",
                    geometry=("sbn_conv", geometry), word_loop=None if site.first else "mismatches",
                    call=(f"sbn_{kernel}", ["in", "weights", "geometry", "thresholds", "out"]
                          + (["scratch"] if scratch_macro else [])))


def byte_masks(weights: np.ndarray) -> np.ndarray:
    """First-convolution weights as byte masks (255 for +1, 0 for -1).

    Per output channel: for each input channel and kernel row, ``(k + 3) // 4``
    little-endian words with one byte lane per kernel column; lanes past the
    kernel width are 0.

    >>> byte_masks(np.array([[[[1, -1], [-1, 1]]]])).tolist()
    [[255, 65280]]
    """
    out_c, in_c, k, _ = weights.shape
    lanes = np.zeros((out_c, in_c, k, 4 * ((k + 3) // 4)), dtype=np.uint32)
    lanes[..., :k] = np.where(weights > 0, 255, 0)
    lanes = lanes.reshape(out_c, -1, 4)
    return (lanes[..., 0] | lanes[..., 1] << 8 | lanes[..., 2] << 16 | lanes[..., 3] << 24).astype(np.uint32)
