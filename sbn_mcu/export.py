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
           progress: bool = False, single_header: bool = False, runtime_files: str = "pasted") -> dict:
    """Write ``NAME.h``, ``NAME.c`` (or one ``NAME.h`` with ``single_header``), ``NAME.sbn.npz``,
    ``summary.json`` and the build fragments ``NAME.cmake`` and ``NAME.mk`` into ``out_dir``;
    with ``runtime_files="shared"`` also ``sbn_runtime.c`` / ``sbn_runtime.h``.

    The check against torch runs on the run's own test split, or on ``data_path``'s."""
    from .training.checkpoint import load_checkpoint
    from .training.freeze import check_against_torch, freeze

    check_name(name)
    with folder_lock(out_dir):
        check_replaceable(out_dir)  # before the minutes of checking, not after
        model, state = load_checkpoint(checkpoint)
        frozen = freeze(model, state["spec"],
                        meta={"data": state.get("data", {}), "run": str(Path(checkpoint).resolve().parent),
                              "arch": state.get("arch"),
                              "method": state.get("method"), "training": (state.get("metrics") or [{}])[-1]})
        inputs, _ = test_split(frozen, data_path)
        disagreements = check_against_torch(model, frozen, inputs, progress)
        if disagreements:
            raise SbnError(f"the frozen model disagrees with torch's hard network on {disagreements} of "
                           f"{len(inputs)} test inputs; nothing was written (please report this as a bug)")
        folder = ExportFolder.create(out_dir, frozen, name, single_header, runtime_files)
    return folder.summary


def model_for_summary(model_path: Path | None, config=None):
    """The frozen model that ``sbn-mcu summary`` reports: an export folder's, a checkpoint's, or,
    before any training, the one ``config.arch`` builds for ``config``'s data. Sizes do not depend
    on the weights, so an untrained network gives the trained one's table."""
    from .codegen import ExportFolder

    if model_path is not None and Path(model_path).is_dir():
        return ExportFolder.open(Path(model_path)).model
    from .training.freeze import freeze

    if model_path is not None:
        from .training.checkpoint import load_checkpoint

        model, state = load_checkpoint(model_path)
        return freeze(model, state["spec"], meta={"arch": state.get("arch")})
    from .training.architectures import build_arch
    from .training.loop import open_data

    spec = open_data(config).spec(config.normalize)
    return freeze(build_arch(config.arch, spec.shape, spec.num_classes).eval(), spec, meta={"arch": config.arch})
