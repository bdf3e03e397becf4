"""Named architectures, and the plain description a checkpoint stores.

A network is an ``nn.Sequential`` of sbn-mcu layers. :func:`describe` turns it
into a list of plain dicts and :func:`build` turns that list back into the
module, so a checkpoint carries its architecture and export needs nothing else.
Each layer kind says how it is rebuilt where it is defined (:data:`.layers.SAVED`).
"""

from __future__ import annotations

import math

from torch import nn

from ..errors import SbnError
from .config import ARCHITECTURES
from .layers import SAVED, SBActivation, SBConv2d, SBLinear, Scores


def binary_block(layer: nn.Module, channels: int, conv: bool) -> list[nn.Module]:
    """A binary layer followed by batch norm and the binary activation."""
    norm = nn.BatchNorm2d(channels) if conv else nn.BatchNorm1d(channels)
    return [layer, norm, SBActivation()]


def mlp(input_shape: tuple[int, ...], classes: int, hidden=(256, 256)) -> nn.Sequential:
    """Fully connected binary network on any input; the last layer gives class scores."""
    widths = (math.prod(input_shape), *hidden, classes)
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(widths[:-2], widths[1:-1]):
        layers += binary_block(SBLinear(n_in, n_out), n_out, conv=False)
    layers += [SBLinear(widths[-2], widths[-1]), Scores()]
    return nn.Sequential(*layers)


def _image_sides(name: str, input_shape: tuple[int, ...], pools: int) -> tuple[int, int]:
    """(H, W) after ``pools`` 2x2 poolings, or one line saying why the preset does not fit."""
    shown = "x".join(map(str, input_shape))
    if len(input_shape) != 3:
        raise SbnError(f"--arch {name} takes images (C, H, W), but the data's examples are {shown}; "
                       "use --arch mlp")
    _, h, w = input_shape
    if h >> pools < 1 or w >> pools < 1:
        raise SbnError(f"--arch {name} pools {pools} times by 2, which takes {h}x{w} images below 1x1; "
                       f"use images of at least {1 << pools}x{1 << pools} or --arch mlp")
    return h >> pools, w >> pools


def cnn(input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """conv3x3 32 (pad 1) → maxpool 2 → conv3x3 64 (pad 1) → maxpool 2 → linear → classes."""
    h, w = _image_sides("cnn", input_shape, 2)
    return nn.Sequential(
        *binary_block(SBConv2d(input_shape[0], 32, 3, padding=1), 32, conv=True),
        nn.MaxPool2d(2),
        *binary_block(SBConv2d(32, 64, 3, padding=1), 64, conv=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        SBLinear(64 * h * w, classes),
        Scores(),
    )


def cnn_large(input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """conv 32-32 → pool → conv 64-64 → pool → linear 512 → classes (all 3x3, pad 1)."""
    h, w = _image_sides("cnn-large", input_shape, 2)
    return nn.Sequential(
        *binary_block(SBConv2d(input_shape[0], 32, 3, padding=1), 32, conv=True),
        *binary_block(SBConv2d(32, 32, 3, padding=1), 32, conv=True),
        nn.MaxPool2d(2),
        *binary_block(SBConv2d(32, 64, 3, padding=1), 64, conv=True),
        *binary_block(SBConv2d(64, 64, 3, padding=1), 64, conv=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        *binary_block(SBLinear(64 * h * w, 512), 512, conv=False),
        SBLinear(512, classes),
        Scores(),
    )


BUILDERS = {"mlp": mlp, "cnn": cnn, "cnn-large": cnn_large}
assert BUILDERS.keys() == ARCHITECTURES.keys()


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def describe(model: nn.Sequential) -> list[dict]:
    """The architecture as plain, JSON-friendly dicts (no weights): each module's type and the
    constructor arguments that rebuild it (:data:`.layers.SAVED`)."""
    description = []
    for m in model:
        if type(m) not in SAVED:
            from .freeze import SUPPORTED

            raise SbnError(f"cannot save layer {type(m).__name__}: a checkpoint can hold only {SUPPORTED}")
        if getattr(m, "return_indices", False):
            raise SbnError(f"cannot save nn.{type(m).__name__}(return_indices=True): it returns a tuple; "
                           "drop the option")
        description.append({"type": type(m).__name__, **{a: _plain(getattr(m, a)) for a in SAVED[type(m)]}})
    return description


def build(description: list[dict]) -> nn.Sequential:
    """The inverse of :func:`describe`: fresh modules, weights to be loaded."""
    kinds = {cls.__name__: cls for cls in SAVED}
    try:
        return nn.Sequential(*(kinds[d["type"]](**{a: tuple(v) if isinstance(v, list) else v
                                                   for a, v in d.items() if a != "type"})
                               for d in description))
    except (KeyError, TypeError, ValueError) as err:
        raise SbnError(f"checkpoint architecture is malformed ({err}); re-train with sbn-mcu") from None
