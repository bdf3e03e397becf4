"""``export`` and ``golden``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..progress import interactive
from . import DATA_HELP, main


@main.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Export folder to write.")
@click.option("--name", default="model", show_default=True,
              help="C prefix: NAME.h, NAME.c and NAME_infer(). Must be a C identifier.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
@click.option("--single-header", is_flag=True,
              help="One NAME.h with the implementation behind NAME_IMPLEMENTATION, instead of NAME.h + NAME.c.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export(checkpoint, out, name, data_path, single_header, as_json):
    """Freeze a checkpoint into integer thresholds and generate C.

    Batch norm + sign fold into one integer comparison per channel; the input
    normalisation folds into the first layer, which takes raw uint8 values.
    Before writing, the frozen model is checked against torch's hard network
    on the whole test split. Writes NAME.h, NAME.c, NAME.sbn.npz (the frozen
    model, numpy only), summary.json, and NAME.cmake / NAME.mk to drop the
    folder into a CMake or make project, all at once.
    """
    from ..export import export as run
    from ..codegen.summary import table

    report = run(checkpoint, out, name, data_path, progress=interactive() and not as_json,
                 single_header=single_header)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(table(report))
        sources = f"{name}.h" if single_header else f"{name}.h, {name}.c"
        click.echo(f"wrote {out}/{sources}, {name}.sbn.npz, summary.json, {name}.cmake, {name}.mk")


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--out", "golden_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write (empty, or an earlier golden folder); never the export folder.")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="The first K test images of the model's dataset [default: 20].")
@click.option("--inputs", "input_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Your own inputs instead: uint8 .npy/.npz of shape (K, INPUT_SIZE) or (K, *input_shape), "
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
