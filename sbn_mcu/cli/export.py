"""``export`` and ``golden``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..codegen.planner import OPTIMIZE
from ..deploy.project import APP_FLASH_RESERVE_BYTES, APP_RAM_RESERVE_BYTES
from ..progress import interactive
from .group import ARCH_HELP, DATA_HELP, _config, _data_options, main
from ..training.config import DEFAULTS
from ..runtime import MODES as RUNTIMES


@main.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Export folder to write.")
@click.option("--name", default="model", show_default=True,
              help="C prefix: NAME.h, NAME.c and NAME_infer(). Must be a C identifier.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
@click.option("--single-header", is_flag=True,
              help="One NAME.h with the implementation behind NAME_IMPLEMENTATION, instead of NAME.h + NAME.c.")
@click.option("--runtime", "runtime_files", type=click.Choice(RUNTIMES), default="pasted", show_default=True,
              help="pasted: the kernels inside NAME.c, static, no other file. shared: the whole runtime once "
                   "as sbn_runtime.c / sbn_runtime.h beside it, the same file for every model: link it once "
                   "for several models.")
@click.option("--optimize", type=click.Choice(OPTIMIZE), default="size", show_default=True,
              help="size: every layer's smallest kernel. speed: per layer the kernel of fewest instructions "
                   "that keeps the model within the budgets (a first dense layer on bytes: subset-sum tables "
                   "in RAM, built a few groups at a time when RAM is short).")
@click.option("--flash-budget", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="Flash the model's weights, thresholds and tables may take (the summary's flash); "
                   "more is refused.")
@click.option("--ram-budget", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="RAM its activations and scratch may take (the summary's RAM); more is refused.")
@click.option("--board", default=None, help="Budgets from this board's memory, less the firmware's buffers, "
                                            f"code and stack and a reserve for your application "
                                            f"({APP_FLASH_RESERVE_BYTES // 1024} KB of flash, "
                                            f"{APP_RAM_RESERVE_BYTES // 1024} KB of RAM); see "
                                            "`sbn-mcu firmware --list-boards`.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export(checkpoint, out, name, data_path, single_header, runtime_files, optimize, flash_budget, ram_budget,
           board, as_json):
    """Freeze a checkpoint into integer thresholds and generate C.

    Batch norm + sign fold into one integer comparison per channel; the input
    normalisation folds into the first layer, which takes the raw values of the
    model's input spec (type, layout and class names travel with the model).
    Before writing, the frozen model is checked against torch's hard network
    on the whole test split. Writes NAME.h, NAME.c, NAME.sbn.npz (the frozen
    model, numpy only), summary.json, and NAME.cmake / NAME.mk to drop the
    folder into a CMake or make project, all at once.
    """
    from ..export import export as run
    from ..codegen.summary import table

    if board and (flash_budget or ram_budget):
        raise click.UsageError("give --board or --flash-budget/--ram-budget, not both")
    report = run(checkpoint, out, name, data_path, progress=interactive() and not as_json,
                 single_header=single_header, runtime_files=runtime_files, optimize=optimize,
                 flash_budget=flash_budget, ram_budget=ram_budget, board=board)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(table(report))
        sources = f"{name}.h" if single_header else f"{name}.h, {name}.c"
        sources += ", sbn_runtime.h, sbn_runtime.c" if runtime_files == "shared" else ""
        click.echo(f"wrote {out}/{sources}, {name}.sbn.npz, summary.json, {name}.cmake, {name}.mk")


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--out", "golden_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write (empty, or an earlier golden folder); never the export folder.")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="The first K test images of the model's dataset [default: 20].")
@click.option("--inputs", "input_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Your own inputs instead: .npy/.npz of the model's input type, of shape (K, INPUT_SIZE) or "
                   "(K, *shape) in the C's layout, "
                   "or an image (needs Pillow). Repeat for several files.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
def golden(out_dir, golden_dir, count, input_files, data_path):
    """Write golden vectors for testing the model inside your own firmware.

    The reference's int32 scores and classes for some inputs, as C you link
    beside NAME.c: NAME_golden.h / NAME_golden.c define
    NAME_golden_check(report), which runs every vector through NAME_infer and
    returns how many differ (no libc; report may be NULL). test_NAME_golden.c
    is a ready Unity test (bring Unity's unity.c/unity.h yourself).
    golden.npz and golden.json hold the same vectors for host tools.

    \b
      sbn-mcu golden build/mlp --out golden --count 50
      sbn-mcu golden build/mlp --out golden --inputs mine.npy
      gcc -Ibuild/mlp -Igolden build/mlp/fm.c golden/fm_golden.c main.c
    """
    from ..verify.golden_files import write_golden

    if count is not None and input_files:
        raise click.UsageError("give --count or --inputs, not both")
    info = write_golden(out_dir, golden_dir, count or 20, input_files, data_path)
    click.echo(f"wrote {info['count']} golden vectors to {golden_dir}: {', '.join(info['files'])}")


@main.command()
@click.argument("model_path", required=False, type=click.Path(path_type=Path), metavar="[CHECKPOINT|EXPORT_DIR]")
@_data_options
@click.option("--arch", default=DEFAULTS.arch, show_default=True, metavar="PRESET|SPEC", help=ARCH_HELP)
@click.option("--board", default=None, help="Also say whether the model fits this board (see "
                                            "`sbn-mcu firmware --list-boards`).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def summary(model_path, arch, board, as_json, **data_options):
    """The per-layer table of a model: output shape, parameters, flash, RAM and MACs.

    Before any training, from the data and an --arch (a preset or a layer
    spec): sizes do not depend on the weights, so this is the trained model's
    table. Or from a checkpoint or an export folder. With --board it also
    says whether the model fits that board, with the numbers.

    \b
      sbn-mcu summary --data imu.npz --arch "conv5:16,pool2,conv5:32,pool2" --board microbit
      sbn-mcu summary --arch cnn                       # Fashion-MNIST
      sbn-mcu summary runs/mlp/model.pt
      sbn-mcu summary build/mlp --board nucleo-f446re
    """
    from ..codegen import plan
    from ..codegen.summary import summarise, table
    from ..export import model_for_summary

    from ..targets import boards

    chosen = boards.get(board) if board else None
    model = model_for_summary(model_path, None if model_path else _config(arch=arch, **data_options))
    the_plan = plan(model)
    report = {"input": model.spec.to_dict(), **summarise(the_plan)}
    if chosen:
        from ..deploy.project import board_fit

        report["board"] = {"name": chosen.name, **board_fit(chosen, the_plan, model.spec.input_bytes)}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    spec = model.spec
    click.echo(f"input: {spec.dtype} {spec.layout_text()}, {spec.normalisation} normalisation; "
               f"{model.num_classes} classes")
    click.echo(table(report))
    if chosen:
        for what, memory in report["board"].items():
            if isinstance(memory, dict):
                verdict = "fits" if memory["fits"] else "does NOT fit"
                click.echo(f"{chosen.name}: {what} {verdict}: needs about {memory['need']:,} B of "
                           f"{memory['have']:,} B ({memory['detail']})")
