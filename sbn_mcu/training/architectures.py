"""Named architectures, and the plain description a checkpoint stores.

A network is an ``nn.Sequential`` of sbn-mcu layers. :func:`describe` turns it
into a list of plain dicts and :func:`build` turns that list back into the
module, so a checkpoint carries its architecture and export needs nothing else.
"""

from __future__ import annotations

import math

from torch import nn

from ..errors import SbnError
from .config import ARCHITECTURES
from .layers import SBActivation, SBConv2d, SBLinear, Scores


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


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else v


# Every constructor setting that changes the computation is stored, so a
# reloaded model computes what the saved one did (or build refuses it).
def _describe_one(m: nn.Module) -> dict:
    if type(m) is SBLinear:
        return {"type": "linear", "in_features": m.in_features, "out_features": m.out_features}
    if type(m) is SBConv2d:
        return {"type": "conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride), "padding": _pair(m.padding),
                "dilation": _pair(m.dilation), "groups": m.groups, "padding_mode": m.padding_mode}
    if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
        return {"type": "batchnorm", "num_features": m.num_features, "eps": m.eps, "momentum": m.momentum,
                "affine": m.affine, "track_running_stats": m.track_running_stats,
                "conv": isinstance(m, nn.BatchNorm2d)}
    if type(m) is SBActivation:
        return {"type": "activation"}
    if type(m) is nn.MaxPool2d:
        if m.return_indices:
            raise SbnError("cannot save nn.MaxPool2d(return_indices=True): it returns a tuple; drop the option")
        return {"type": "maxpool2d", "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
                "padding": _pair(m.padding), "dilation": _pair(m.dilation), "ceil_mode": m.ceil_mode}
    if type(m) is nn.Flatten:
        return {"type": "flatten", "start_dim": m.start_dim, "end_dim": m.end_dim}
    if type(m) is Scores:
        return {"type": "scores"}
    from .freeze import SUPPORTED

    raise SbnError(f"cannot save layer {type(m).__name__}: a checkpoint can hold only {SUPPORTED}")


def describe(model: nn.Sequential) -> list[dict]:
    """The architecture as plain, JSON-friendly dicts (no weights)."""
    return [_describe_one(m) for m in model]


def _tuple(v):
    return tuple(v) if isinstance(v, list) else v


def build(description: list[dict]) -> nn.Sequential:
    """The inverse of :func:`describe`: fresh modules, weights to be loaded.

    Settings missing from an older checkpoint take the defaults it was written with.
    """
    makers = {
        "linear": lambda d: SBLinear(d["in_features"], d["out_features"]),
        "conv2d": lambda d: SBConv2d(d["in_channels"], d["out_channels"], _tuple(d["kernel_size"]),
                                     _tuple(d["stride"]), _tuple(d["padding"]), _tuple(d.get("dilation", 1)),
                                     d.get("groups", 1), d.get("padding_mode", "zeros")),
        "batchnorm": lambda d: (nn.BatchNorm2d if d["conv"] else nn.BatchNorm1d)(
            d["num_features"], eps=d["eps"], momentum=d.get("momentum", 0.1), affine=d.get("affine", True),
            track_running_stats=d.get("track_running_stats", True)),
        "activation": lambda d: SBActivation(),
        "maxpool2d": lambda d: nn.MaxPool2d(_tuple(d["kernel_size"]), _tuple(d["stride"]),
                                            _tuple(d.get("padding", 0)), _tuple(d.get("dilation", 1)),
                                            ceil_mode=d.get("ceil_mode", False)),
        "flatten": lambda d: nn.Flatten(d.get("start_dim", 1), d.get("end_dim", -1)),
        "scores": lambda d: Scores(),
    }
    try:
        return nn.Sequential(*(makers[d["type"]](d) for d in description))
    except (KeyError, TypeError, ValueError) as err:
        raise SbnError(f"checkpoint architecture is malformed ({err}); re-train with sbn-mcu") from None
