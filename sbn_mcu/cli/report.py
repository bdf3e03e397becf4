"""``report``: one self-contained HTML page about an export."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SbnError
from ..progress import interactive
from ..targets.cores import NAMES as CORES
from .group import DATA_HELP, main, train_option_names


@main.command()
@click.argument("export_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, metavar="FILE.html",
              help="The page to write (replaced at once, never left half-written).")
@click.option("--run", "run_dir", type=click.Path(path_type=Path), default=None, metavar="RUN_DIR",
              help="The training run (the folder of `sbn-mcu train --out`, with metrics.json) for the "
                   "curves [default: the run beside the export, when its exported epoch is the export's].")
@click.option("--bench", "cores", default=None, metavar="CORES",
              help=f"Also count instructions per inference and per layer in QEMU on these comma-separated "
                   f"cores, as `sbn-mcu bench --cpu` does: {', '.join(CORES)}.")
@click.option("--vectors", type=click.IntRange(min=1), default=10, show_default=True,
              help="--bench: golden test images per core; all must match.")
@click.option("--board", default=None, metavar="BOARD",
              help="Draw flash and RAM against this board's memory (`sbn-mcu firmware --list-boards`).")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Verify on the first N test inputs only (quick reports) [default: the whole test split].")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds before a host or QEMU run counts as hung.")
def report(export_dir, out, run_dir, cores, vectors, board, data_path, limit, timeout):
    """Write one HTML page about an export: model, layers, memory, training
    curves, accuracy of the C, speed, and the commands behind each figure.

    The page is self-contained (inline CSS and SVG, no script, nothing
    fetched): mail it, attach it to a CI run, or open it offline. Its
    accuracy, per-class table and confusion matrix come from compiling the C
    with the host gcc and running the test split, as `sbn-mcu verify --host`
    does, and its speed from QEMU, as `sbn-mcu bench` does; the command exits 1
    after writing the page if any score of the C differs from the reference.

    \b
    Examples:
      sbn-mcu report build/mlp --out report.html
      sbn-mcu report build/mlp --run runs/mlp --board nucleo-f446re --out report.html
      sbn-mcu report build/mlp --run runs/mlp --bench cortex-m0,cortex-m4 --out report.html
      sbn-mcu report build/mlp --limit 1000 --out quick.html     # the first 1,000 test inputs
      sbn-mcu report build/mlp --data my-test-data --out report.html
    The demo writes one too: runs/demo/report.html.
    """
    from ..report import parse_cores, write_report

    chosen = parse_cores(cores) if cores is not None else []
    progress = interactive()
    step = (lambda text: click.secho(text, bold=True, err=True)) if progress else None
    result = write_report(export_dir, out, run_dir, chosen, board, data_path, limit, vectors, timeout,
                          step=step, progress=progress, train_options=train_option_names())
    click.echo(f"wrote {result['path']} ({result['bytes']:,} bytes): accuracy of the C "
               f"{100 * result['accuracy']:.2f}% on {result['n']:,} test inputs, "
               f"{result['mismatches']} mismatches")
    if result["mismatches"]:
        raise SbnError(f"the generated C disagrees with the reference on {result['mismatches']} inputs; "
                       f"see {result['path']}")
