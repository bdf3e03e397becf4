"""Named architectures, and the plain description a checkpoint stores.

A network is an ``nn.Sequential`` of sbn-mcu layers. :func:`describe` turns it
into a list of plain dicts and :func:`build` turns that list back into the
module, so a checkpoint carries its architecture and export needs nothing else.
Each layer kind says how it is rebuilt where it is defined (:data:`.layers.SAVED`).
"""

from __future__ import annotations

from torch import nn

from ..errors import SbnError
from .config import ARCHITECTURES
from . import layer_spec
from .layers import SAVED


# The presets, as layer specs; a convolution's kernel follows the data (3x3 on images, 3 on 1-D windows).
PRESETS = {
    "mlp": "dense:256,dense:256",
    "cnn": "conv3:32,pool2,conv3:64,pool2",
    "cnn-large": "conv3:32,conv3:32,pool2,conv3:64,conv3:64,pool2,dense:512",
}
assert PRESETS.keys() == ARCHITECTURES.keys()


def build_arch(arch: str, input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """A preset by name, or a layer spec (:mod:`.layer_spec`), sized to the data."""
    return layer_spec.build(PRESETS.get(arch, arch), tuple(input_shape), classes)


def mlp(input_shape: tuple[int, ...], classes: int, hidden=(256, 256)) -> nn.Sequential:
    """Fully connected binary network on any input; the last layer gives class scores."""
    return layer_spec.build(",".join(f"dense:{n}" for n in hidden), tuple(input_shape), classes)


def cnn(input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """conv 32 (pad 1) → maxpool 2 → conv 64 (pad 1) → maxpool 2 → linear → classes; 3x3 or 3."""
    return build_arch("cnn", input_shape, classes)


def cnn_large(input_shape: tuple[int, ...], classes: int) -> nn.Sequential:
    """conv 32-32 → pool → conv 64-64 → pool → linear 512 → classes (3x3 or 3, pad 1)."""
    return build_arch("cnn-large", input_shape, classes)


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
