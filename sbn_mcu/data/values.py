"""What the examples' arrays hold: their input type and their layout, checked the same way for
every source, and the one-line error every data check raises."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SbnError
from ..ir import input_spec

TYPE_ORDER = ("uint8", "int8", "int16")  # inference takes the first that holds every value
LAYOUT_CHOICES = ("flat", "cl", "chw", "hwc")


def fail(message: str):
    """Raise the one-line error (newlines in user data cannot break the one-line rule)."""
    raise SbnError(" ".join(str(message).split()))


# --- the input type ------------------------------------------------------------


def finite(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and x.size and not np.isfinite(x).all():
        bad = "NaN" if np.isnan(x).any() else "an infinite value"
        fail(f"{where} holds {bad}; replace missing or broken values before training")


def _whole(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and x.size and (x != np.round(x)).any():
        value = x[x != np.round(x)].flat[0]
        fail(f"{where} holds {value:g}, not a whole number; quantise the inputs to int8 or int16 first "
             "(e.g. round(x * 127 / max|x|)), the C takes integers")


def _range(arrays) -> tuple[int, int] | None:
    present = [a for a in arrays if a.size]
    if not present:
        return None
    return int(min(a.min() for a in present)), int(max(a.max() for a in present))


def input_type(arrays: dict, forced: str | None, where: dict) -> str:
    """The input type of ``arrays`` (split -> x): forced, kept, or the smallest that holds every value."""
    if forced is not None and forced not in input_spec.TYPES:
        fail(f"input type {forced!r} is not supported; choose one of {', '.join(input_spec.TYPES)}")
    for split, x in arrays.items():
        if x.dtype.kind not in "biuf":
            fail(f"{where[split]} holds {x.dtype} values, not numbers; the inputs must be integers "
                 f"({', '.join(TYPE_ORDER)})")
        finite(x, where[split])
        _whole(x, where[split])
    span = _range(arrays.values())
    if forced is not None:
        lo, hi = input_spec.TYPES[forced][2:]
        if span and (span[0] < lo or span[1] > hi):
            fail(f"{where_all(where)} holds values {span[0]}..{span[1]}, outside {forced} ({lo}..{hi}); "
                 "choose a wider --input-type or rescale the data")
        return forced
    names = {np.dtype(x.dtype).name for x in arrays.values()}
    if len(names) == 1 and next(iter(names)) in input_spec.TYPES:
        return next(iter(names))
    if span is None:
        return "uint8"
    for name in TYPE_ORDER:
        lo, hi = input_spec.TYPES[name][2:]
        if lo <= span[0] and span[1] <= hi:
            return name
    fail(f"{where_all(where)} holds values {span[0]}..{span[1]}, beyond int16 (-32768..32767); "
         "rescale the inputs to int16 or int8 first")


def where_all(where: dict) -> str:
    files = list(dict.fromkeys(where.values()))
    return files[0] if len(files) == 1 else " and ".join(files)


# --- the layout -----------------------------------------------------------------


def arrange(x: np.ndarray, where: str, *, hint: str = "array", input_layout: str | None = None,
            input_shape=None) -> tuple[np.ndarray, str]:
    """``x`` with the full stored shape of its layout, and that layout.

    ``input_shape`` reshapes each example (its size must match): two sizes make
    ``cl``, three ``chw`` (``H, W, C`` with ``input_layout="hwc"``), one ``flat``.
    Otherwise ``(N, F)`` is flat, ``(N, C, L)`` cl (gray images ``(N, 1, H, W)``
    when ``hint`` is ``image`` or ``input_layout`` is ``chw``), ``(N, C, H, W)``
    chw, and with ``input_layout="hwc"`` an ``(N, H, W, C)`` array is hwc.
    """
    if input_layout is not None and input_layout not in LAYOUT_CHOICES:
        fail(f"input layout {input_layout!r} is not supported; choose one of {', '.join(LAYOUT_CHOICES)}")
    if x.ndim < 2:
        fail(f"{where} has shape {x.shape}; the inputs need one example per row, (N, features) or more axes")
    n, example = x.shape[0], tuple(x.shape[1:])
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if not 1 <= len(shape) <= 3 or min(shape) < 1:
            fail(f"input shape {shape} must be 1 to 3 positive sizes: (F,), (C, L) or (C, H, W)")
        if math.prod(shape) != math.prod(example):
            fail(f"{where} has examples of {math.prod(example)} values {example}, which cannot take the input "
                 f"shape {'x'.join(map(str, shape))} ({math.prod(shape)} values); fix --input-shape")
        layout = {1: "flat", 2: "cl", 3: "chw"}[len(shape)]
        if input_layout == "hwc" and len(shape) == 3:
            layout = "hwc"
        elif input_layout not in (None, layout):
            fail(f"input shape {shape} gives layout {layout}, not {input_layout}; drop one of the two options")
        return x.reshape((n, *shape)), layout
    if input_layout == "flat":
        return x.reshape(n, -1), "flat"
    if input_layout == "hwc":
        if x.ndim != 4:
            fail(f"{where} has shape {x.shape}; --input-layout hwc needs (N, H, W, C)")
        return x, "hwc"
    if input_layout == "cl":
        if x.ndim != 3:
            fail(f"{where} has shape {x.shape}; --input-layout cl needs (N, C, L)")
        return x, "cl"
    if input_layout == "chw" or (input_layout is None and hint == "image"):
        if x.ndim == 3:
            return x.reshape(n, 1, *example), "chw"
        if x.ndim == 4:
            return x, "chw"
        fail(f"{where} has shape {x.shape}; images need (N, H, W) or (N, C, H, W)")
    if x.ndim > 4:
        fail(f"{where} has shape {x.shape}; examples may have at most 3 axes: (N, F), (N, C, L) or (N, C, H, W)")
    return x, {2: "flat", 3: "cl", 4: "chw"}[x.ndim]
