"""The layer spec of ``--arch``: a network in one line, sized to the data.

Grammar (comma-separated, case-insensitive):

* ``convKHxKW:C`` a 2-D convolution of C channels (``conv3x3:32``); ``convK:C``
  a 1-D one on 1-D data (``conv5:16``), or a K x K one on images;
* ``poolK`` or ``poolKHxKW``: max pooling with stride equal to its size;
* ``dense:N``: a fully connected layer of N outputs;
* ``dropout:P``: dropout with probability P while training (removed at export).

Convolutions pad "same": (K - 1) / 2 zeros on each side. Every convolution
and every dense layer but the last is followed by batch norm and the binary
activation. The class scores come from a last ``dense:CLASSES``, which may
be left out: a spec that does not end with one gets it appended. A spec
that cannot fit the data is refused with the reason, before anything trains.
"""

from __future__ import annotations

import math
import re

from torch import nn

from ..errors import SbnError
from .layers import SBActivation, SBConv1d, SBConv2d, SBLinear, Scores

GRAMMAR = "convKHxKW:C, convK:C, poolK, poolKHxKW, dense:N, dropout:P"
_TOKEN = re.compile(r"^(?:conv(\d+)(?:x(\d+))?:(\d+)|pool(\d+)(?:x(\d+))?|dense:(\d+)|dropout:([0-9]*\.?[0-9]+))$")


def parse(spec: str) -> list[tuple]:
    """``spec`` as ``(kind, ...)`` tuples, or one line naming the token that is wrong.

    >>> parse("conv3x3:32, pool2, dense:10, dropout:0.2")
    [('conv', (3, 3), 32), ('pool', (2,)), ('dense', 10), ('dropout', 0.2)]
    >>> parse("conv5:16,pool2")
    [('conv', (5,), 16), ('pool', (2,))]
    """
    layers = []
    for token in (t.strip().lower() for t in spec.split(",")):
        m = _TOKEN.match(token)
        if m is None:
            raise SbnError(f"--arch: {token!r} is not a layer; write {GRAMMAR} (e.g. conv3x3:32,pool2,dense:10) "
                           "or a preset")
        kh, kw, channels, ph, pw, dense, p = m.groups()
        sizes = [int(v) for v in (kh, kw, channels, ph, pw, dense) if v is not None]
        if min(sizes, default=1) < 1 or (p is not None and not float(p) < 1):
            raise SbnError(f"--arch: {token!r} needs sizes of 1 or more, and a dropout below 1")
        if channels is not None:
            layers.append(("conv", (int(kh), int(kw)) if kw else (int(kh),), int(channels)))
        elif ph is not None:
            layers.append(("pool", (int(ph), int(pw)) if pw else (int(ph),)))
        elif dense is not None:
            layers.append(("dense", int(dense)))
        else:
            layers.append(("dropout", float(p)))
    return layers


def build(spec: str, input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """The ``nn.Sequential`` of ``spec`` for examples of ``input_shape`` and ``classes`` classes."""
    layers = parse(spec)
    if layers and layers[-1][0] == "dropout":
        raise SbnError("--arch: dropout cannot be the last layer; put it before a dense layer")
    if not layers or layers[-1] != ("dense", classes):  # the score layer, when the spec leaves it out
        layers.append(("dense", classes))
    shape = tuple(input_shape)
    shown = lambda s: "x".join(map(str, s))  # noqa: E731
    modules: list[nn.Module] = []
    after_conv = False
    for i, layer in enumerate(layers):
        kind, token = layer[0], _token(layer)
        if kind == "conv":
            if len(shape) == 1:
                raise SbnError(f"--arch: {token} needs examples with channels, (C, L) or (C, H, W); these are "
                               f"{shown(shape)} (and flat after a dense layer); use dense layers")
            sizes = layer[1] * (len(shape) - 1) if len(layer[1]) == 1 else layer[1]
            if len(sizes) != len(shape) - 1:
                raise SbnError(f"--arch: {token} is 2-D but the data is 1-D, (C, L) = {shown(shape)}; use "
                               f"conv{layer[1][1]}:{layer[2]}")
            padding = tuple((k - 1) // 2 for k in sizes)
            sides = tuple(n + 2 * p - k + 1 for n, k, p in zip(shape[1:], sizes, padding))
            if min(sides) < 1:
                raise SbnError(f"--arch: {token} does not fit inputs of {shown(shape[1:])}")
            conv = (SBConv1d(shape[0], layer[2], sizes[0], padding=padding[0]) if len(sizes) == 1
                    else SBConv2d(shape[0], layer[2], sizes, padding=padding))
            norm = nn.BatchNorm1d if len(sizes) == 1 else nn.BatchNorm2d
            modules += [conv, norm(layer[2]), SBActivation()]
            shape, after_conv = (layer[2], *sides), True
        elif kind == "pool":
            if not after_conv:
                raise SbnError(f"--arch: {token} must follow a convolution")
            sizes = layer[1] * (len(shape) - 1) if len(layer[1]) == 1 else layer[1]
            if len(sizes) != len(shape) - 1:
                raise SbnError(f"--arch: {token} is 2-D but the data is 1-D; use pool{layer[1][1]}")
            sides = tuple(n // k for n, k in zip(shape[1:], sizes))
            if min(sides) < 1:
                raise SbnError(f"--arch: {token} takes {shown(shape[1:])} below 1; use a smaller pool, fewer "
                               "pools or larger examples")
            modules.append(nn.MaxPool1d(sizes[0]) if len(sizes) == 1 else nn.MaxPool2d(sizes))
            shape = (shape[0], *sides)
        elif kind == "dense":
            if len(shape) > 1 or not modules:
                modules.append(nn.Flatten())
            n_in, shape, after_conv = math.prod(shape), (layer[1],), False
            if i == len(layers) - 1:
                modules += [SBLinear(n_in, layer[1]), Scores()]
            else:
                modules += [SBLinear(n_in, layer[1]), nn.BatchNorm1d(layer[1]), SBActivation()]
        else:
            modules.append(nn.Dropout(layer[1]))
    return nn.Sequential(*modules)


def _token(layer: tuple) -> str:
    kind = layer[0]
    if kind == "conv":
        return f"conv{'x'.join(map(str, layer[1]))}:{layer[2]}"
    if kind == "pool":
        return f"pool{'x'.join(map(str, layer[1]))}"
    return f"{kind}:{layer[1]:g}" if kind == "dropout" else f"dense:{layer[1]}"
