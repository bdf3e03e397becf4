"""The frozen model: the integer contract between Python and C.

Plain dataclasses of numpy arrays, loadable without torch: the input shape
and a list of ops (:mod:`sbn_mcu.ops`, one module per layer kind). Every
integer convention of the project is written here or in
:mod:`sbn_mcu.ir.input_spec`, once:

* **Input.** See :mod:`sbn_mcu.ir.input_spec`: raw values become the
  integers the first layer multiplies by ±1, and the training normalisation
  lives in its thresholds. The model carries its :class:`InputSpec`.
* **Binary values.** Weights and activations are ``+1`` / ``-1``, and
  ``sign(0) = +1``. Packed into bits, ``+1`` is bit 1 (:mod:`sbn_mcu.ops.packing`).
* **Sums.** A binary layer computes ``acc = sum(w * x)`` over its valid inputs;
  a convolution's padding is 0 and adds nothing (docs/semantics.md).
* **Thresholds.** An output is ``+1`` iff ``acc >= threshold``. Channels whose
  batch-norm scale is negative have their weights negated at freeze time, so
  every comparison is ``>=`` and pooling sees the real activations.
* **Scores.** The last layer has no threshold: its ``acc`` are the int32 class
  scores, and the predicted class is the first index of the maximum.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import ops
from ..errors import SbnError
from .input_spec import InputSpec, as_spec

FORMAT = "sbn-mcu-frozen"
VERSION = 2  # 2: the input spec replaced the input shape; version 1 files read as bare shapes (as_spec)
SUFFIX = ".sbn.npz"

Shape = tuple[int, ...]


@dataclass
class FrozenModel:
    spec: InputSpec  # or a bare shape: raw uint8 values in torch's order
    layers: list[ops.Op]
    meta: dict = field(default_factory=dict)  # the data's source and hash, the architecture, training figures

    def __post_init__(self):
        self.spec = as_spec(self.spec)

    @property
    def input_shape(self) -> Shape:
        return self.spec.shape

    def class_name(self, index: int) -> str:
        return self.spec.class_name(index)

    def shapes(self) -> list[Shape]:
        """The input shape followed by every layer's output shape."""
        shapes = [tuple(self.input_shape)]
        for layer in self.layers:
            try:
                shapes.append(layer.output_shape(shapes[-1]))
            except SbnError as err:  # a layer sees a derived shape: name the one the model records
                raise SbnError(f"the model's input shape {self.input_shape} does not fit its layers ({err}); "
                               "train or export it again") from None
        return shapes

    @property
    def num_classes(self) -> int:
        return self.shapes()[-1][0]

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    def save(self, path: Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    def to_bytes(self) -> bytes:
        """A versioned ``.npz``: a JSON header plus one array per field."""
        header = {"format": FORMAT, "version": VERSION, "input": self.spec.to_dict(),
                  "meta": self.meta, "layers": []}
        arrays = {}
        for i, layer in enumerate(self.layers):
            entry = {"type": type(layer).__name__}
            for name, value in vars(layer).items():
                if isinstance(value, np.ndarray):
                    arrays[f"{i}.{name}"] = value
                    entry[name] = f"{i}.{name}"
                elif value is not None:
                    entry[name] = value
            header["layers"].append(entry)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, header=np.array(json.dumps(header, sort_keys=True)), **arrays)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path) -> "FrozenModel":
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                arrays = {k: data[k] for k in data.files if k != "header"}
        except FileNotFoundError:
            raise SbnError(f"frozen model {path} does not exist; create it with `sbn-mcu export`") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError):
            raise SbnError(f"{path} is not a readable sbn-mcu frozen model (corrupt or truncated); "
                           "re-run `sbn-mcu export`") from None
        if header.get("format") != FORMAT:
            raise SbnError(f"{path} is not an sbn-mcu frozen model")
        if header.get("version") not in (1, VERSION):
            raise SbnError(f"{path} has frozen-model format version {header.get('version')}, but this "
                           f"sbn-mcu reads version {VERSION}; export it again with this version")
        layers = []
        for entry in header["layers"]:
            kind = ops.by_kind(entry.pop("type"))
            if kind is None:
                raise SbnError(f"{path} contains an unknown layer type; export it again")
            layers.append(kind(**{k: arrays[v] if isinstance(v, str) and v in arrays else v
                                  for k, v in entry.items()}))
        meta = header.get("meta", {})
        if header["version"] == 1:  # a bare input shape; class names (if any) in meta
            spec = replace(as_spec(tuple(header["input_shape"])), class_names=tuple(meta.get("class_names", ())))
        else:
            spec = InputSpec.from_dict(header["input"])
        return cls(spec, layers, meta)
