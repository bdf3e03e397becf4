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
           progress: bool = False, single_header: bool = False, runtime_files: str = "pasted",
           optimize: str = "size", flash_budget: int | None = None, ram_budget: int | None = None,
           board: str | None = None) -> dict:
    """Write ``NAME.h``, ``NAME.c`` (or one ``NAME.h`` with ``single_header``), ``NAME.sbn.npz``,
    ``summary.json`` and the build fragments ``NAME.cmake`` and ``NAME.mk`` into ``out_dir``;
    with ``runtime_files="shared"`` also ``sbn_runtime.c`` / ``sbn_runtime.h``.

    The check against torch runs on the run's own test split, or on ``data_path``'s. ``optimize``
    and the budgets (or ``board``'s memory, :func:`~sbn_mcu.deploy.project.board_budget`) choose
    the kernels (:mod:`sbn_mcu.codegen.planner`)."""
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
        choose_kernels(frozen, optimize, flash_budget, ram_budget, board)
        inputs, _ = test_split(frozen, data_path)
        disagreements = check_against_torch(model, frozen, inputs, progress)
        if disagreements:
            raise SbnError(f"the frozen model disagrees with torch's hard network on {disagreements} of "
                           f"{len(inputs)} test inputs; nothing was written (please report this as a bug)")
        folder = ExportFolder.create(out_dir, frozen, name, single_header, runtime_files)
    return folder.summary


def choose_kernels(frozen, optimize: str = "size", flash_budget: int | None = None, ram_budget: int | None = None,
                   board: str | None = None) -> None:
    """Record the planner's kernels in ``frozen.meta`` (nothing for the smallest ones, so that a
    size export stays as it was); ``board`` gives the budgets and the core the choice is timed on."""
    from .codegen.planner import ESTIMATE_CORE, choose

    core = ESTIMATE_CORE
    if board is not None:
        from .deploy.project import board_budget
        from .targets import boards

        chosen = boards.get(board)
        flash_budget, ram_budget = board_budget(chosen, frozen.spec.input_bytes, frozen.num_classes)
        core = chosen.core
    choices = choose(frozen, optimize, flash_budget, ram_budget, core)
    if choices:
        frozen.meta["kernels"] = choices


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
