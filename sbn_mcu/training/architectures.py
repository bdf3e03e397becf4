"""Named architectures, and the plain description a checkpoint stores.

A network is an ``nn.Sequential`` of sbn-mcu layers. :func:`describe` turns it
into a list of plain dicts and :func:`build` turns that list back into the
module, so a checkpoint carries its architecture and export needs nothing else.
"""

from __future__ import annotations

from torch import nn

from ..errors import SbnError
from .config import ARCHITECTURES
from .layers import SBActivation, SBConv2d, SBLinear, Scores


def binary_block(layer: nn.Module, channels: int, conv: bool) -> list[nn.Module]:
    """A binary layer followed by batch norm and the binary activation."""
    norm = nn.BatchNorm2d(channels) if conv else nn.BatchNorm1d(channels)
    return [layer, norm, SBActivation()]


def mlp(widths=(784, 256, 256, 10)) -> nn.Sequential:
    """Fully connected binary network; the last layer gives class scores."""
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in, n_out in zip(widths[:-2], widths[1:-1]):
        layers += binary_block(SBLinear(n_in, n_out), n_out, conv=False)
    layers += [SBLinear(widths[-2], widths[-1]), Scores()]
    return nn.Sequential(*layers)


def cnn(in_channels: int = 1, size: int = 28, classes: int = 10) -> nn.Sequential:
    """conv3x3 32 (pad 1) → maxpool 2 → conv3x3 64 (pad 1) → maxpool 2 → linear → classes."""
    side = size // 4
    return nn.Sequential(
        *binary_block(SBConv2d(in_channels, 32, 3, padding=1), 32, conv=True),
        nn.MaxPool2d(2),
        *binary_block(SBConv2d(32, 64, 3, padding=1), 64, conv=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        SBLinear(64 * side * side, classes),
        Scores(),
    )


def cnn_large(in_channels: int = 1, size: int = 28, classes: int = 10) -> nn.Sequential:
    """conv 32-32 → pool → conv 64-64 → pool → linear 512 → classes (all 3x3, pad 1)."""
    side = size // 4
    return nn.Sequential(
        *binary_block(SBConv2d(in_channels, 32, 3, padding=1), 32, conv=True),
        *binary_block(SBConv2d(32, 32, 3, padding=1), 32, conv=True),
        nn.MaxPool2d(2),
        *binary_block(SBConv2d(32, 64, 3, padding=1), 64, conv=True),
        *binary_block(SBConv2d(64, 64, 3, padding=1), 64, conv=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        *binary_block(SBLinear(64 * side * side, 512), 512, conv=False),
        SBLinear(512, classes),
        Scores(),
    )


BUILDERS = {"mlp": mlp, "cnn": cnn, "cnn-large": cnn_large}
assert BUILDERS.keys() == ARCHITECTURES.keys()


def _describe_one(m: nn.Module) -> dict:
    if isinstance(m, SBLinear):
        return {"type": "linear", "in_features": m.in_features, "out_features": m.out_features}
    if isinstance(m, SBConv2d):
        return {"type": "conv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": m.kernel_size[0], "stride": m.stride[0], "padding": m.padding[0]}
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return {"type": "batchnorm", "num_features": m.num_features, "eps": m.eps,
                "conv": isinstance(m, nn.BatchNorm2d)}
    if isinstance(m, SBActivation):
        return {"type": "activation"}
    if isinstance(m, nn.MaxPool2d):
        return {"type": "maxpool2d", "kernel_size": m.kernel_size, "stride": m.stride}
    if isinstance(m, nn.Flatten):
        return {"type": "flatten"}
    if isinstance(m, Scores):
        return {"type": "scores"}
    from .freeze import SUPPORTED

    raise SbnError(f"unsupported layer {type(m).__name__}; supported: {SUPPORTED}")


def describe(model: nn.Sequential) -> list[dict]:
    """The architecture as plain, JSON-friendly dicts (no weights)."""
    return [_describe_one(m) for m in model]


def build(description: list[dict]) -> nn.Sequential:
    """The inverse of :func:`describe`: fresh modules, weights to be loaded."""
    makers = {
        "linear": lambda d: SBLinear(d["in_features"], d["out_features"]),
        "conv2d": lambda d: SBConv2d(d["in_channels"], d["out_channels"], d["kernel_size"],
                                     d["stride"], d["padding"]),
        "batchnorm": lambda d: (nn.BatchNorm2d if d["conv"] else nn.BatchNorm1d)(
            d["num_features"], eps=d["eps"]),
        "activation": lambda d: SBActivation(),
        "maxpool2d": lambda d: nn.MaxPool2d(d["kernel_size"], d["stride"]),
        "flatten": lambda d: nn.Flatten(),
        "scores": lambda d: Scores(),
    }
    try:
        return nn.Sequential(*(makers[d["type"]](d) for d in description))
    except (KeyError, TypeError) as err:
        raise SbnError(f"checkpoint architecture is malformed ({err}); re-train with sbn-mcu") from None
