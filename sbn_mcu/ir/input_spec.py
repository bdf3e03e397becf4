"""The input spec: what the model takes, carried by the model itself.

One object holds the input's shape, type, layout, normalisation and class
names. The checkpoint and the frozen model store it, and it is the one source
for the training normalisation, freeze, the reference, the C header, golden
vectors, the host library, the firmware and verify. Nothing else writes an
input type, a range or a size.

**Shapes.** ``shape`` is the model's own order, torch's: ``(C, H, W)`` for
images, ``(C, L)`` for 1-D windows, ``(F,)`` for a feature vector. The C
takes the raw values in ``layout`` order: ``chw`` and ``cl`` are that same
order, ``hwc`` interleaves the channels of each pixel (camera frames), and
``flat`` is a vector.

**The integer form.** Each raw value ``r`` of channel ``c`` becomes the
integer ``q = a[c] * r + b[c]``; training feeds ``x = q / scale``. The first
layer sums ``q`` exactly, so its sum is ``scale`` times the trained
pre-activation, and ``scale`` lives in its thresholds. Nothing on the
microcontroller is a float. Two normalisations fill ``a``, ``b`` and ``scale``:

* ``range`` (the default) maps the type's range ``[lo, hi]`` onto [-1, 1]:
  ``a = 2``, ``b = -(lo + hi)``, ``scale = hi - lo``; for ``uint8`` that is
  ``q = 2r - 255``.
* ``per-channel`` learns each channel's mean and spread on the training split:
  ``a[c] = round(scale / std[c])`` and ``b[c] = round(-mean[c] * a[c])``, with
  ``scale`` chosen so that the smallest multiplier is 64, or the largest power
  of two below it with which every ``|q|`` stays under 2**22 (see :func:`fit`).

For a feature vector ``(F,)`` every feature is its own channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import SbnError

# name -> (numpy dtype, C type, lo, hi)
TYPES = {
    "uint8": (np.dtype(np.uint8), "uint8_t", 0, 255),
    "int8": (np.dtype(np.int8), "int8_t", -128, 127),
    "int16": (np.dtype(np.int16), "int16_t", -32768, 32767),
}
LAYOUTS = {"chw": 3, "hwc": 3, "cl": 2, "flat": 1}  # layout -> rank of the shape
NORMALISATIONS = ("range", "per-channel")
SMALLEST_MULTIPLIER = 64  # per-channel: the precision of the coarsest channel's scale, at most
LARGEST_INTEGER = 2 ** 22  # |q| stays exact through float32 training and far from int32 sums


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str = "uint8"
    layout: str = "chw"
    normalisation: str = "range"
    multipliers: tuple[int, ...] = ()  # a[c]; empty for "range" (then all 2)
    offsets: tuple[int, ...] = ()  # b[c]; empty for "range" (then all -(lo + hi))
    per_channel_scale: int = 0  # scale for "per-channel"; "range" derives it from the type
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self):
        shape = tuple(int(n) for n in self.shape)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
        object.__setattr__(self, "multipliers", tuple(int(n) for n in self.multipliers))
        object.__setattr__(self, "offsets", tuple(int(n) for n in self.offsets))
        if self.dtype not in TYPES:
            raise SbnError(f"input type {self.dtype!r} is not supported; choose one of {', '.join(TYPES)}")
        if self.layout not in LAYOUTS:
            raise SbnError(f"input layout {self.layout!r} is not supported; choose one of {', '.join(LAYOUTS)}")
        if len(shape) != LAYOUTS[self.layout] or min(shape, default=0) < 1:
            raise SbnError(f"input shape {shape} does not fit layout {self.layout} "
                           f"({LAYOUTS[self.layout]} positive sizes)")
        if self.normalisation not in NORMALISATIONS:
            raise SbnError(f"normalisation {self.normalisation!r} is not supported; choose one of "
                           f"{', '.join(NORMALISATIONS)}")
        if self.normalisation == "per-channel" and not (
                len(self.multipliers) == len(self.offsets) == self.channels and self.per_channel_scale > 0):
            raise SbnError("a per-channel normalisation needs a multiplier and an offset per channel")
        if self.largest >= LARGEST_INTEGER:
            raise SbnError(f"the normalised input reaches {self.largest}, past {LARGEST_INTEGER}; "
                           "use the range normalisation")

    # --- what the model takes ---
    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def input_bytes(self) -> int:
        """Bytes of one input in C."""
        return self.size * self.numpy_dtype.itemsize

    @property
    def channels(self) -> int:
        """Channels the normalisation works on: the first axis, or every feature of a vector."""
        return self.shape[0]

    @property
    def positions(self) -> int:
        return self.size // self.channels

    @property
    def stored_shape(self) -> tuple[int, ...]:
        """The shape of one input as the C takes it (``H, W, C`` for ``hwc``)."""
        return (*self.shape[1:], self.shape[0]) if self.layout == "hwc" else self.shape

    @property
    def numpy_dtype(self) -> np.dtype:
        return TYPES[self.dtype][0]

    @property
    def c_type(self) -> str:
        return TYPES[self.dtype][1]

    @property
    def range(self) -> tuple[int, int]:
        return TYPES[self.dtype][2:]

    # --- the integer form ---
    # "range" inputs share one a and one b: they stay 1-element arrays (broadcast to every channel), so that
    # a flat input of millions of channels costs nothing until a batch is multiplied by them
    def _compact_a_b(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.range
        return np.array(self.multipliers or (2,), np.int64), np.array(self.offsets or (-(lo + hi),), np.int64)

    @property
    def a(self) -> np.ndarray:
        return np.broadcast_to(self._compact_a_b()[0], (self.channels,))

    @property
    def b(self) -> np.ndarray:
        return np.broadcast_to(self._compact_a_b()[1], (self.channels,))

    @property
    def scale(self) -> int:
        """``q = scale * x``: the first layer's integer sum over its trained pre-activation."""
        lo, hi = self.range
        return self.per_channel_scale if self.normalisation == "per-channel" else hi - lo

    @property
    def largest(self) -> int:
        """The largest ``|q|``: the first layer's accumulator bound is its fan-in times this."""
        lo, hi = self.range
        a, b = self._compact_a_b()
        return int(np.maximum(np.abs(a * lo + b), np.abs(a * hi + b)).max())

    @property
    def is_plain_bytes(self) -> bool:
        """Whether the C can sum the raw bytes directly (``q = 2r - 255`` in the model's order)."""
        return self.dtype == "uint8" and self.normalisation == "range" and self.layout != "hwc"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def check(self, raw, what: str = "inputs") -> np.ndarray:
        """``raw`` as a contiguous ``(N, size)`` batch of the input type, or one line saying what is wrong.

        Accepted shapes: ``(N, size)`` and ``(N, *stored_shape)``.
        """
        raw = np.asarray(raw)
        if raw.dtype != self.numpy_dtype:
            lo, hi = self.range
            raise SbnError(f"{what} must be {self.dtype} values ({lo}..{hi}), got {raw.dtype}")
        if raw.ndim >= 2 and raw.shape[1:] in ((self.size,), self.stored_shape):
            return np.ascontiguousarray(raw.reshape(len(raw), self.size))
        raise SbnError(f"{what} must have shape (N, {self.size}) or (N, {', '.join(map(str, self.stored_shape))})"
                       f" for this model; got {raw.shape}")

    def wire_bytes(self, raw) -> bytes:
        """One input as the firmware's protocol carries it: its values, little-endian."""
        return np.ascontiguousarray(raw, self.numpy_dtype.newbyteorder("<")).tobytes()

    def to_model_order(self, raw):
        """A batch of raw values in the C's order as ``(N, *shape)``; numpy arrays or torch tensors
        (duck-typed: no torch import here)."""
        raw = raw.reshape((len(raw), *self.stored_shape))
        if self.layout == "hwc":
            raw = raw.permute(0, 3, 1, 2) if hasattr(raw, "permute") else raw.transpose(0, 3, 1, 2)
        return raw

    def channel_view(self, values: np.ndarray, ndim: int) -> np.ndarray:
        """Per-channel ``values`` shaped to broadcast over a ``(N, *shape)`` batch."""
        return np.asarray(values).reshape((1, self.channels) + (1,) * (ndim - 2))

    def integers(self, raw) -> np.ndarray:
        """The integers ``q = a[c] * r + b[c]`` (int64, ``(N, *shape)``) that the first layer multiplies by ±1.

        >>> InputSpec((3,), layout="flat").integers(np.array([[0, 128, 255]], np.uint8)).tolist()
        [[-255, 1, 255]]
        """
        x = self.to_model_order(np.asarray(raw).astype(np.int64))
        return x * self.channel_view(self.a, x.ndim) + self.channel_view(self.b, x.ndim)

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """``x = q / scale`` (float32), what training feeds the network; torch tensors take
        :func:`sbn_mcu.training.inputs.normalise`, the same arithmetic.

        >>> InputSpec((2,), layout="flat").normalise(np.array([[0, 255]], np.uint8)).tolist()
        [[-1.0, 1.0]]
        """
        return (self.integers(raw) / self.scale).astype(np.float32)

    def describe(self) -> str:
        """One line for the C header and the summary."""
        lo, hi = self.range
        if self.normalisation == "range":
            offset = -(lo + hi)
            return (f"Training normalised x = (2r {'+' if offset >= 0 else '-'} {abs(offset)}) / {self.scale}, the "
                    f"{self.dtype} range onto [-1, 1]; it is folded into the first layer's integer thresholds.")
        return (f"Training normalised x = (a[c] * r + b[c]) / {self.scale} per channel (a, b learned on the "
                "training split); it is folded into the first layer's integer arithmetic.")

    def layout_text(self) -> str:
        dims = {"chw": "C, H, W", "hwc": "H, W, C (interleaved)", "cl": "C, L", "flat": "a flat vector of"}
        return f"{dims[self.layout]} {'x'.join(map(str, self.stored_shape))}"

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "layout": self.layout,
                "normalisation": self.normalisation, "multipliers": list(self.multipliers),
                "offsets": list(self.offsets), "per_channel_scale": self.per_channel_scale,
                "class_names": list(self.class_names)}

    @classmethod
    def from_dict(cls, d: dict) -> "InputSpec":
        try:
            return cls(tuple(d["shape"]), d["dtype"], d["layout"], d.get("normalisation", "range"),
                       tuple(d.get("multipliers", ())), tuple(d.get("offsets", ())),
                       int(d.get("per_channel_scale", 0)), tuple(d.get("class_names", ())))
        except (KeyError, TypeError, ValueError, SbnError) as err:
            raise SbnError(f"the model's input spec is malformed ({err}); train or export it again") from None


def as_spec(spec_or_shape) -> InputSpec:
    """An :class:`InputSpec` as is, or a bare shape as raw ``uint8`` values in torch's order."""
    if isinstance(spec_or_shape, InputSpec):
        return spec_or_shape
    shape = tuple(spec_or_shape)
    return InputSpec(shape, "uint8", layout_for(len(shape)))


def layout_for(stored_ndim: int, channels_last: bool = False) -> str:
    """The layout of examples with ``stored_ndim`` axes (an image of one channel may have 2)."""
    if channels_last:
        if stored_ndim != 3:
            raise SbnError("--input-layout hwc needs examples of shape (H, W, C)")
        return "hwc"
    return {1: "flat", 2: "cl", 3: "chw"}[stored_ndim]


def fit(x_train: np.ndarray, dtype: str, layout: str, normalisation: str, class_names) -> InputSpec:
    """The spec of examples ``x_train`` ``(N, *stored_shape)``, with the normalisation learned on them."""
    stored = tuple(x_train.shape[1:])
    shape = (stored[-1], *stored[:-1]) if layout == "hwc" else stored
    spec = InputSpec(shape, dtype, layout, "range", class_names=tuple(class_names))
    if normalisation == "range":
        return spec
    if normalisation != "per-channel":
        raise SbnError(f"unknown normalisation {normalisation!r}; choose one of {', '.join(NORMALISATIONS)}")
    x = spec.to_model_order(np.asarray(x_train, np.float64))
    axes = (0,) + tuple(range(2, x.ndim))
    mean, std = x.mean(axis=axes), x.std(axis=axes)
    std = np.maximum(std, 1.0)  # a constant channel: one raw step is one unit
    smallest = SMALLEST_MULTIPLIER
    while smallest >= 1:
        scale = int(round(smallest * std.max()))
        a = np.maximum(np.round(scale / std), 1).astype(np.int64)
        b = np.round(-mean * a).astype(np.int64)
        lo, hi = spec.range
        if np.maximum(np.abs(a * lo + b), np.abs(a * hi + b)).max() < LARGEST_INTEGER:
            return InputSpec(shape, dtype, layout, "per-channel", tuple(a), tuple(b), scale, tuple(class_names))
        smallest //= 2
    raise SbnError(f"the channels' spreads differ too much (from {std.min():g} to {std.max():g}) for an exact "
                   "integer normalisation; use --normalize range")
