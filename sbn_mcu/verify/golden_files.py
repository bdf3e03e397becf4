"""Golden vectors for the user's own firmware and host tools (``sbn-mcu golden``).

The reference's scores for some inputs, as C (``NAME_golden.h/.c`` with
``NAME_golden_check()``), as a ready Unity test, and as ``golden.npz`` /
``golden.json``. Unlike the QEMU harness's ``golden.h`` these files are the
user's: they go into a folder of their own, never into the export folder,
whose manifest lists only what export wrote.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..codegen import ExportFolder
from ..codegen.environment import render
from ..files import check_writable, folder_lock, write_folder
from ..data import as_batch, read_inputs
from ..ir import reference
from .data import golden_vectors

# What `sbn-mcu golden` writes: an earlier golden folder may be replaced, nothing else.
REPLACEABLE = ("*_golden.h", "*_golden.c", "test_*_golden.c", "golden.npz", "golden.json")


def golden_files(name: str, inputs: np.ndarray, scores: np.ndarray, class_names=None) -> dict[str, str | bytes]:
    """Every file of a golden folder, by name, for raw (K, INPUT_SIZE) inputs and their scores
    (and the model's class names, by index: the class numbers by default)."""
    classes = reference.predict(scores)
    class_names = class_names or [str(c) for c in range(scores.shape[1])]
    context = dict(prefix=name, name=name, NAME=name.upper(), count=len(inputs), input_size=inputs.shape[1],
                   num_classes=scores.shape[1], inputs=inputs.tolist(), scores=scores.tolist(),
                   classes=classes.tolist(), class_names=[class_names[c] for c in classes])
    arrays = io.BytesIO()
    np.savez(arrays, inputs=inputs, scores=scores.astype(np.int32), classes=classes.astype(np.int64))
    summary = {"name": name, "count": len(inputs), "input_size": int(inputs.shape[1]),
               "input_type": inputs.dtype.name, "num_classes": int(scores.shape[1]), "scores": scores.tolist(),
               "classes": classes.tolist(), "class_names": [class_names[c] for c in classes]}
    return {f"{name}_golden.h": render("templates/golden.h.j2", **context),
            f"{name}_golden.c": render("templates/golden.c.j2", **context),
            f"test_{name}_golden.c": render("templates/test_golden.c.j2", **context),
            "golden.npz": arrays.getvalue(),
            "golden.json": json.dumps(summary) + "\n"}


def write_golden(out_dir: Path, golden_dir: Path, count: int = 20, input_files=(),
                 data_path: Path | None = None) -> dict:
    """Write the golden folder for the export in ``out_dir``: the given inputs, else
    the first ``count`` test images. Returns what golden.json holds, less the scores."""
    folder = ExportFolder.open(out_dir)
    check_writable(golden_dir, REPLACEABLE)  # before the work, not after it
    model = folder.model
    if input_files:
        inputs = read_inputs(input_files, model.spec)
    else:
        inputs, _, _ = golden_vectors(model, count, data_path)
    inputs = as_batch(inputs, model.spec)
    scores = reference.run(model, inputs)
    files = golden_files(folder.name, inputs, scores, [model.class_name(c) for c in range(model.num_classes)])
    with folder_lock(golden_dir):
        write_folder(golden_dir, files, REPLACEABLE)
    return {"name": folder.name, "count": len(inputs), "files": sorted(files)}
