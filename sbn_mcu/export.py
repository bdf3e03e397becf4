"""Export: checkpoint → frozen model → C, checked before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import codegen, data, reference, summary
from .atomic import check_writable, write_folder
from .errors import SbnError
from .frozen import SUFFIX, FrozenModel


REPLACEABLE = ("*.h", "*.c", "*.cmake", "*.mk", "*" + SUFFIX, "summary.json")  # what an export writes


def check_against_torch(model, frozen: FrozenModel, pixels: np.ndarray, progress: bool = False) -> int:
    """Inputs where torch's hard network and the reference predict different classes."""
    import torch

    from .layers import hard_copy
    from .train import normalise

    hard = hard_copy(model)
    disagreements = 0
    label = f"checking against torch on {len(pixels):,} test images"
    with reference.batches(len(pixels), label, progress) as starts, torch.no_grad():
        for i in starts:
            batch = pixels[i:i + 500]
            ours = reference.predict(reference.run(frozen, batch))
            theirs = hard(normalise(torch.from_numpy(batch)).double()).argmax(1).numpy()
            disagreements += int((ours != theirs).sum())
    return disagreements


def export(checkpoint: Path, out_dir: Path, name: str = "model", data_dir: Path | None = None,
           progress: bool = False, single_header: bool = False) -> dict:
    """Write ``NAME.h``, ``NAME.c`` (or one ``NAME.h`` with ``single_header``), ``NAME.sbn.npz``,
    ``summary.json`` and the build fragments ``NAME.cmake`` and ``NAME.mk`` into ``out_dir``."""
    from .freeze import freeze
    from .train import load_checkpoint

    codegen.check_name(name)
    check_writable(out_dir, REPLACEABLE)  # before the minutes of checking, not after
    model, state = load_checkpoint(checkpoint)
    dataset = state.get("dataset", "fashion-mnist")
    frozen = freeze(model, tuple(state["input_shape"]),
                    meta={"dataset": dataset, "arch": state.get("arch"),
                          "training": (state.get("metrics") or [{}])[-1]})
    pixels, _ = data.load(dataset, "test", data_dir)
    pixels = pixels.reshape((len(pixels),) + frozen.input_shape)
    disagreements = check_against_torch(model, frozen, pixels, progress)
    if disagreements:
        raise SbnError(f"the frozen model disagrees with torch's hard network on {disagreements} of "
                       f"{len(pixels)} test images; nothing was written (please report this as a bug)")
    the_plan = codegen.plan(frozen)
    files = codegen.render(frozen, name, single_header, the_plan)
    files.update(codegen.build_fragments(name, single_header))
    report = summary.summarise(the_plan)
    report["name"] = name
    files["summary.json"] = json.dumps(report, indent=2) + "\n"
    files[name + SUFFIX] = frozen.to_bytes()
    write_folder(out_dir, files, REPLACEABLE)
    return report


def find_model(out_dir: Path) -> tuple[str, FrozenModel]:
    """The name and frozen model of an export folder."""
    out_dir = Path(out_dir)
    found = sorted(out_dir.glob("*" + SUFFIX)) if out_dir.is_dir() else []
    if len(found) != 1:
        raise SbnError(f"{out_dir} is not an export folder (expected one *{SUFFIX}); "
                       "run `sbn-mcu export MODEL.pt --out DIR` first")
    name = found[0].name[:-len(SUFFIX)]
    header = out_dir / f"{name}.h"
    single = header.is_file() and f"{name.upper()}_IMPLEMENTATION" in header.read_text()
    for path in [header] + ([] if single else [out_dir / f"{name}.c"]):
        if not path.is_file():
            raise SbnError(f"{path} is missing; export again")
    return name, FrozenModel.load(found[0])
