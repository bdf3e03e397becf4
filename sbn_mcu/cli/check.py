"""``verify``, ``predict`` and ``bench``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import SbnError
from ..progress import interactive
from .group import DATA_HELP, main
from ..targets.cores import NAMES as CORES


_TEXT_ONLY = ("passed", "mismatch_scores")  # in the text report, not in --json


def _print_result(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({k: v for k, v in result.items() if k not in _TEXT_ONLY}, indent=2))
        return
    line = (f"{result['target']}: {result['n']} inputs, {result['mismatches']} mismatches, "
            f"accuracy {100 * result['accuracy']:.2f}%")
    if "reference_accuracy" in result:
        line += f" (reference {100 * result['reference_accuracy']:.2f}%)"
    click.echo(line)
    for m in result.get("mismatch_scores", []):
        click.echo(f"  input {m['index']}: expected {m['expected']}, got {m['got']}")
    if result.get("per_class"):
        click.echo("  accuracy per class: " + ", ".join(
            f"{row['name']} {100 * row['accuracy']:.1f}%" if row["accuracy"] is not None else f"{row['name']} -"
            for row in result["per_class"]))
    for diff in result.get("differences", []):
        click.echo(f"  vector {diff['vector']}: scores {diff['scores']} class {diff['class']}, "
                   f"expected {diff['expected']}")
    if "inferences_per_second" in result:
        click.echo(f"  {result['inferences_per_second']:.1f} inferences/s over the line; "
                   f"{result['cycles_per_inference']:,} cycles per inference on {result['board']} "
                   f"({result['cycle_counter']}, {result['clock_hz']:,} Hz)")
    if "instructions_per_inference" in result:
        click.echo("  " + " ".join("." if ok else "F" for ok in result["passed"]))
        click.echo(f"  {result['instructions_per_inference']:,} instructions per inference on "
                   f"{result['machine']}; firmware flash {result['flash_bytes']:,} B, RAM {result['ram_bytes']:,} B;"
                   f" model flash {result['model_flash_bytes']:,} B, RAM {result['model_ram_bytes']:,} B")


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--host", is_flag=True, help="Compile with gcc and run the whole test split.")
@click.option("--qemu", type=click.Choice(CORES), default=None, help="Run golden vectors on this emulated core.")
@click.option("--vectors", type=click.IntRange(min=1), default=20, show_default=True,
              help="Golden test images compiled into the QEMU firmware.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Host: only the first N test images.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
@click.option("--serial", "port", default=None, metavar="PORT",
              help="Send golden vectors to a board running `sbn-mcu firmware`: a device "
                   "(/dev/ttyACM0), a pty, or socket://HOST:PORT.")
@click.option("--baud", type=click.IntRange(min=1), default=115200, show_default=True, help="Serial baud rate.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds before a run counts as hung [host, QEMU: 300; serial: 5 per answer].")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Host: also write confusion.json (and confusion.png where matplotlib is installed) here.")
def verify(out_dir, host, qemu, port, baud, vectors, limit, data_path, timeout, as_json, report_dir):
    """Check the generated C against the numpy reference, score by score.

    --host compiles with gcc -std=c99 -Wall -Wextra -Werror -pedantic and runs
    the test split; --qemu builds a bare-metal firmware and counts instructions
    per inference; --serial talks to a board (or a QEMU machine) running the
    firmware of `sbn-mcu firmware`, and reports throughput and cycles. Exits 1
    if any score differs. --host also prints the accuracy per class and the
    first differing scores; --json adds per_class and the confusion matrix
    (rows: true class, columns: the C's class).

    \b
    On a board:  sbn-mcu firmware build/mlp --board nucleo-f446re --out fw
                 make -C fw flash
                 sbn-mcu verify build/mlp --serial /dev/ttyACM0 --vectors 100
    """
    from ..verify import verify_host, verify_qemu, verify_serial

    if not host and not qemu and not port:
        raise SbnError("choose --host, --qemu CORE, --serial PORT, or several")
    if report_dir is not None and not host:
        raise SbnError("--report-dir writes the host run's confusion matrix; add --host")
    progress = interactive() and not as_json
    targets = [(host, lambda: verify_host(out_dir, data_path, limit, timeout or 300, progress=progress)),
               (qemu, lambda: verify_qemu(out_dir, qemu, vectors, data_path, timeout or 300)),
               (port, lambda: verify_serial(out_dir, port, vectors, data_path, baud, timeout or 5,
                                            progress=progress))]
    results = []
    for chosen, run in targets:
        if chosen:
            results.append(run())
            if not as_json:
                _print_result(results[-1], False)
    if report_dir is not None:
        from ..verify.report import write_report

        written = write_report(report_dir, results[0])
        if not as_json:
            click.echo(f"wrote {', '.join(str(p) for p in written)}")
    if as_json:  # one JSON document: an object per target, a list for both
        shown = [{k: v for k, v in r.items() if k not in _TEXT_ONLY} for r in results]
        click.echo(json.dumps(shown[0] if len(shown) == 1 else shown, indent=2))
    if any(r["mismatches"] for r in results):
        raise SbnError("the generated C disagrees with the reference; see the mismatches above")


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: file, index, class, name and scores of each input.")
def predict(out_dir, files, as_json):
    """Classify inputs with the generated C, compiled for the host.

    Each FILE is an image (needs Pillow), an .npy array of the model's input
    type (one input, or a batch of shape (N, INPUT_SIZE) or (N, *shape) in
    the C's layout) or a .csv file with one row of INPUT_SIZE values. Prints
    the class name and the scores, computed by NAME_infer itself (compiled
    once with gcc, cached).

    \b
      sbn-mcu predict build/mlp shirt.png
      sbn-mcu predict build/mlp batch.npy
    """
    from .. import host
    from ..data import read_inputs

    model = host.load(out_dir)
    rows = []
    for path in files:  # every file is read before anything is printed: one bad file, one line
        x = read_inputs([path], model.spec)
        scores, classes = model.infer(x)
        rows += [{"file": str(path), "index": i, "class": int(c),
                  "name": model.class_names[c], "scores": row.tolist(),
                  "batch": len(x) > 1} for i, (c, row) in enumerate(zip(classes, scores))]
    if as_json:
        click.echo(json.dumps([{k: v for k, v in r.items() if k != "batch"} for r in rows], indent=2))
        return
    for r in rows:
        where = f"{r['file']}[{r['index']}]" if r["batch"] else r["file"]
        click.echo(f"{where}: {r['name']} (class {r['class']}) scores {r['scores']}")


def _cores(value: str) -> list[str]:
    cores = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in cores if c not in CORES]
    if unknown or not cores:
        raise click.BadParameter(f"unknown core {', '.join(unknown) or value!r}; choose from {', '.join(CORES)}")
    return cores


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--cpu", "cpus", default=",".join(CORES), show_default=True,
              callback=lambda ctx, param, value: _cores(value), help="Comma-separated Cortex-M cores.")
@click.option("--vectors", type=click.IntRange(min=1), default=10, show_default=True,
              help="Golden test images per core; all must match.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None, metavar="PATH",
              help=DATA_HELP)
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per core.")
def bench(out_dir, cpus, vectors, data_path, timeout, as_json):
    """Instructions per inference and per layer, flash, RAM and stack per core.

    Builds the exported model for each core's QEMU machine (M0 microbit, M3
    mps2-an385, M4 mps2-an386, M7 mps2-an500, M33 mps2-an505, M55 mps3-an547),
    checks golden vectors (any mismatch fails loudly) and counts instructions
    with -icount. The total comes from the plain build; a second build calls
    a timing hook after each layer for the per-layer counts (the hook's own
    cost is taken off). Loads per word: load instructions per 32-bit word
    read in the innermost loop of the layer kernel's loop over weight words,
    counted in the compiled code. Instructions are not cycles: flash wait
    states differ on real boards.
    """
    from ..bench import bench as run

    rows = run(out_dir, cpus, vectors, data_path, timeout)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    head = ("core", "machine", "instructions", "per MAC", "flash B", "RAM B", "stack B")
    lines = [(r["core"], r["machine"], f"{r['instructions_per_inference']:,}", f"{r['instructions_per_mac']:.3f}",
              f"{r['model_flash_bytes']:,}", f"{r['model_ram_bytes']:,}", f"{r['stack_bytes']:,}")
             if r["fits"] else (r["core"], "does not fit: " + r["error"], "", "", "", "", "") for r in rows]
    _echo_table(head, lines, left=2)
    click.echo(f"model flash/RAM: the model's object code and data (arm-none-eabi-size); "
               f"{vectors} golden vectors matched on every core that fits")
    layers = [(r["core"], f"{layer['layer']} {layer['title']}", layer["kernel"], f"{layer['instructions']:,}",
               f"{layer['instructions_per_mac']:.3f}" if layer["instructions_per_mac"] is not None else "-",
               f"{layer['loads_per_word']:.3f}" if layer["loads_per_word"] is not None else "-")
              for r in rows if r["fits"] for layer in r["layers"]]
    if layers:
        click.echo("")
        _echo_table(("core", "layer", "kernel", "instructions", "per MAC", "loads/word"), layers, left=3)
        click.echo("per layer: timed with a hook after each layer, its cost taken off; loads/word: load "
                   "instructions per 32-bit word read in the kernel's innermost weight loop "
                   "(-: none left after compiling)")


def _echo_table(head, lines, left: int) -> None:
    """Columns padded to their widest cell; the first ``left`` columns left-aligned."""
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    for row in [head, *lines]:
        click.echo("  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))))
