"""Export: checkpoint → frozen model → C, checked before anything is written.

The one place where training (torch) meets code generation: everything it
writes, the export folder, is read later without torch.
"""

from __future__ import annotations

from pathlib import Path

from .codegen import ExportFolder, check_name
from .codegen.export_folder import check_replaceable
from .errors import SbnError
from .files import folder_lock
from .verify.data import test_split


def export(checkpoint: Path, out_dir: Path, name: str = "model", data_path: Path | None = None,
           progress: bool = False, single_header: bool = False) -> dict:
    """Write ``NAME.h``, ``NAME.c`` (or one ``NAME.h`` with ``single_header``), ``NAME.sbn.npz``,
    ``summary.json`` and the build fragments ``NAME.cmake`` and ``NAME.mk`` into ``out_dir``.

    The check against torch runs on the run's own test split, or on ``data_path``'s."""
    from .training.checkpoint import load_checkpoint
    from .training.freeze import check_against_torch, freeze

    check_name(name)
    with folder_lock(out_dir):
        check_replaceable(out_dir)  # before the minutes of checking, not after
        model, state = load_checkpoint(checkpoint)
        frozen = freeze(model, state["spec"],
                        meta={"data": state.get("data", {}), "arch": state.get("arch"),
                              "method": state.get("method"), "training": (state.get("metrics") or [{}])[-1]})
        inputs, _ = test_split(frozen, data_path)
        disagreements = check_against_torch(model, frozen, inputs, progress)
        if disagreements:
            raise SbnError(f"the frozen model disagrees with torch's hard network on {disagreements} of "
                           f"{len(inputs)} test inputs; nothing was written (please report this as a bug)")
        folder = ExportFolder.create(out_dir, frozen, name, single_header)
    return folder.summary
