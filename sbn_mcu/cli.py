"""The ``sbn-mcu`` command line: train → export → verify, or all of it with ``demo``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .data import DATASETS
from .errors import SbnError
from .progress import interactive
from .targets.cores import NAMES as CORES
from .training.config import ARCHITECTURES, DEFAULTS, METHODS


class Cli(click.Group):
    """Turns every :class:`SbnError` into one line on stderr and exit code 1,
    and a usage mistake into one line and exit code 2."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.exceptions.NoArgsIsHelpError as err:  # bare `sbn-mcu`: the help, as is
            click.echo(err.format_message(), err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            hint = ""
            if isinstance(err, click.UsageError) and err.ctx is not None:
                hint = f" (see `{err.ctx.command_path} --help`)"
            click.secho(f"error: {err.format_message()}{hint}", fg="red", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SbnError as err:
            click.secho(f"error: {err}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as err:  # a bug: still one line, with a way to see more
            if os.environ.get("SBN_MCU_DEBUG"):
                raise
            click.secho(f"error: internal error {type(err).__name__}: {err} "
                        "(set SBN_MCU_DEBUG=1 for the traceback and report it)", fg="red", err=True)
            sys.exit(1)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sbn-mcu")
def main():
    """Binary neural networks from PyTorch to bit-exact Cortex-M C.

    \b
    A typical session:
      sbn-mcu train --arch mlp --epochs 15 --out runs/mlp
      sbn-mcu export runs/mlp/model.pt --out build/mlp --name fm
      sbn-mcu verify build/mlp --host
      sbn-mcu verify build/mlp --qemu cortex-m4
      sbn-mcu golden build/mlp --out golden     # vectors for your own firmware tests
      sbn-mcu firmware build/mlp --board nucleo-f446re --out fw
    or everything at once:  sbn-mcu demo
    """


def _train_options(f):
    d = DEFAULTS
    options = [
        click.option("--dataset", type=click.Choice(DATASETS), default=d.dataset, show_default=True,
                     help="IDX dataset to train on."),
        click.option("--arch", type=click.Choice(list(ARCHITECTURES)), default=d.arch, show_default=True,
                     help=" ".join(f"{name}: {what}." for name, what in ARCHITECTURES.items())),
        click.option("--method", type=click.Choice(list(METHODS)), default=d.method, show_default=True,
                     help=" ".join(f"{name}: {what}." for name, what in METHODS.items())
                     + " The baselines train the same architecture."),
        click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                     help="Folder with the four IDX files [default: /usr/share/datasets/<dataset>]."),
        click.option("--limit", type=click.IntRange(min=1), default=None,
                     help="Train on the first N training images only (quick runs)."),
        click.option("--seed", type=int, default=d.seed, show_default=True, help="Random seed."),
        click.option("--batch-size", type=click.IntRange(min=1), default=d.batch_size, show_default=True,
                     help="Images per optimisation step."),
        click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=d.lr, show_default=True,
                     help="Adam learning rate (cosine-annealed to 0)."),
        click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=d.device, show_default=True,
                     help="Train on the CPU, on a CUDA GPU, or on a GPU when there is one (auto)."),
        click.option("--v-end", type=click.FloatRange(min=0, min_open=True), default=d.v_end,
                     show_default=True, help="Final sharpness v of tanh(v*x); it grows from 1."),
        click.option("--weight-norm/--no-weight-norm", default=d.weight_norm, show_default=True,
                     help="sbn: divide each output channel's weights by their mean |w| before tanh."),
        click.option("--weight-v-scale", type=click.FloatRange(min=0, min_open=True), default=d.weight_v_scale,
                     show_default=True, help="sbn: weights use tanh(s*v*w), s times the activations' v."),
        click.option("--grad-clip", type=click.FloatRange(min=0), default=d.grad_clip, show_default=True,
                     help="Clip each step's gradient norm to this (0: no clipping)."),
        click.option("--epochs", type=click.IntRange(min=1), default=d.epochs, show_default=True),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _config(**kw):
    from dataclasses import replace

    return replace(DEFAULTS, **kw)  # the demo has no --val-images: it keeps the default


@main.command()
@_train_options
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Run folder: model.pt, metrics.json and curves.png go here.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last finished epoch (same options as before).")
@click.option("--val-images", type=click.IntRange(min=0), default=DEFAULTS.val_images, show_default=True,
              help="Training images held out (seeded) to pick the best epoch; at most a tenth of the "
                   "training split. 0: no validation, model.pt is the last epoch.")
def train(out, resume, **kw):
    """Train a Self-Binarizing Network.

    Weights and activations pass through tanh(v*x) while v grows exponentially
    from 1 to --v-end, so the network becomes binary by itself; each output
    channel's weights are divided by their mean |w| first and sharpen at
    --weight-v-scale times v. Every epoch prints the soft (tanh) and hard
    (binary) test accuracy and the hard accuracy on the validation images;
    batch-norm statistics are re-estimated in hard mode, and the checkpoint
    keeps them.
    model.pt is the epoch with the best validation accuracy: the network to
    export. The same --seed gives the same checkpoint on the CPU.

    Under torchrun the processes train one model data-parallel (gloo on the
    CPU, NCCL with one GPU per process); --batch-size stays the global batch.

    \b
    Examples:
      sbn-mcu train --out runs/mlp                          # 784-256-256-10, 15 epochs
      sbn-mcu train --arch cnn --epochs 10 --out runs/cnn
      sbn-mcu train --limit 2000 --epochs 2 --out runs/quick
      sbn-mcu train --arch cnn --epochs 10 --out runs/cnn --resume   # after an interruption
      torchrun --standalone --nproc_per_node 2 -m sbn_mcu train --out runs/ddp
    """
    from .training.distributed import distributed_ranks
    from .training.loop import exported_record, train as run

    try:
        _, metrics = run(_config(**kw), out, resume=resume)
    except SbnError:
        if not distributed_ranks().main:
            sys.exit(1)  # every process checks the same input; rank 0 prints the one line
        raise
    if not distributed_ranks().main:
        return
    chosen = exported_record(out)
    best = chosen["epoch"]
    why = (f"best hard validation accuracy {100 * chosen['val_hard_accuracy']:.2f}%"
           if "val_hard_accuracy" in chosen else "the last; no validation")
    click.echo(f"hard-binary test accuracy {100 * chosen['hard_accuracy']:.2f}% "
               f"(soft {100 * chosen['soft_accuracy']:.2f}%) at epoch {best} of {len(metrics)} ({why}); "
               f"wrote {out}/model.pt, metrics.json, curves.png")


@main.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Export folder to write.")
@click.option("--name", default="model", show_default=True,
              help="C prefix: NAME.h, NAME.c and NAME_infer(). Must be a C identifier.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Dataset folder, for the check against torch on the test split.")
@click.option("--single-header", is_flag=True,
              help="One NAME.h with the implementation behind NAME_IMPLEMENTATION, instead of NAME.h + NAME.c.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export(checkpoint, out, name, data_dir, single_header, as_json):
    """Freeze a checkpoint into integer thresholds and generate C.

    Batch norm + sign fold into one integer comparison per channel; the input
    normalisation folds into the first layer, which takes raw uint8 values.
    Before writing, the frozen model is checked against torch's hard network
    on the whole test split. Writes NAME.h, NAME.c, NAME.sbn.npz (the frozen
    model, numpy only), summary.json, and NAME.cmake / NAME.mk to drop the
    folder into a CMake or make project, all at once.
    """
    from .export import export as run
    from .codegen.summary import table

    report = run(checkpoint, out, name, data_dir, progress=interactive() and not as_json,
                 single_header=single_header)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(table(report))
        sources = f"{name}.h" if single_header else f"{name}.h, {name}.c"
        click.echo(f"wrote {out}/{sources}, {name}.sbn.npz, summary.json, {name}.cmake, {name}.mk")


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
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--serial", "port", default=None, metavar="PORT",
              help="Send golden vectors to a board running `sbn-mcu firmware`: a device "
                   "(/dev/ttyACM0), a pty, or socket://HOST:PORT.")
@click.option("--baud", type=click.IntRange(min=1), default=115200, show_default=True, help="Serial baud rate.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds before a run counts as hung [host, QEMU: 300; serial: 5 per answer].")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Host: also write confusion.json (and confusion.png where matplotlib is installed) here.")
def verify(out_dir, host, qemu, port, baud, vectors, limit, data_dir, timeout, as_json, report_dir):
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
    from .verify import verify_host, verify_qemu, verify_serial

    if not host and not qemu and not port:
        raise SbnError("choose --host, --qemu CORE, --serial PORT, or several")
    if report_dir is not None and not host:
        raise SbnError("--report-dir writes the host run's confusion matrix; add --host")
    progress = interactive() and not as_json
    targets = [(host, lambda: verify_host(out_dir, data_dir, limit, timeout or 300, progress=progress)),
               (qemu, lambda: verify_qemu(out_dir, qemu, vectors, data_dir, timeout or 300)),
               (port, lambda: verify_serial(out_dir, port, vectors, data_dir, baud, timeout or 5,
                                            progress=progress))]
    results = []
    for chosen, run in targets:
        if chosen:
            results.append(run())
            if not as_json:
                _print_result(results[-1], False)
    if report_dir is not None:
        from .verify.report import write_report

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
@click.option("--out", "golden_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write (empty, or an earlier golden folder); never the export folder.")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="The first K test images of the model's dataset [default: 20].")
@click.option("--inputs", "input_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Your own inputs instead: uint8 .npy/.npz of shape (K, INPUT_SIZE) or (K, *input_shape), "
                   "or an image (needs Pillow). Repeat for several files.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Dataset folder for the test images.")
def golden(out_dir, golden_dir, count, input_files, data_dir):
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
    from .verify.golden_files import write_golden

    if count is not None and input_files:
        raise click.UsageError("give --count or --inputs, not both")
    info = write_golden(out_dir, golden_dir, count or 20, input_files, data_dir)
    click.echo(f"wrote {info['count']} golden vectors to {golden_dir}: {', '.join(info['files'])}")


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list: file, index, class, name and scores of each input.")
def predict(out_dir, files, as_json):
    """Classify inputs with the generated C, compiled for the host.

    Each FILE is an image (needs Pillow), an .npy array of uint8 (one input,
    or a batch of shape (N, INPUT_SIZE) or (N, *input_shape)) or a .csv file
    with one row of INPUT_SIZE values 0..255. Prints the class and the
    scores, computed by NAME_infer itself (compiled once with gcc, cached).

    \b
      sbn-mcu predict build/mlp shirt.png
      sbn-mcu predict build/mlp batch.npy
    """
    from . import host
    from .inputs import read_inputs

    model = host.load(out_dir)
    names = model.model.meta.get("class_names") or []
    rows = []
    for path in files:  # every file is read before anything is printed: one bad file, one line
        x = read_inputs([path], model.model)
        scores, classes = model.infer(x)
        rows += [{"file": str(path), "index": i, "class": int(c),
                  "name": names[c] if c < len(names) else str(int(c)), "scores": row.tolist(),
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
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per core.")
def bench(out_dir, cpus, vectors, data_dir, timeout, as_json):
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
    from .bench import bench as run

    rows = run(out_dir, cpus, vectors, data_dir, timeout)
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


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path), required=False)
@click.option("--board", default=None, metavar="BOARD",
              help="The board, e.g. nucleo-f446re or mps2-an386 (--list-boards shows them all).")
@click.option("--out", "fw_dir", type=click.Path(path_type=Path), default=None,
              help="Project folder to write.")
@click.option("--list-boards", is_flag=True, help="Print the boards with their core and memory, and exit.")
def firmware(out_dir, board, fw_dir, list_boards):
    """Write a standalone firmware project for a board from an export folder.

    The project holds the model's C, startup code, a linker script, a UART
    driver on the chip's registers, a main that answers inference requests
    over the UART (a small framing protocol with a CRC), and a Makefile: it
    builds with arm-none-eabi-gcc alone. A model too big for the board is
    refused with the numbers.

    \b
      sbn-mcu firmware build/mlp --board nucleo-f446re --out fw
      make -C fw                       # build/firmware.elf .hex .bin
      sbn-mcu flash fw                 # or: make -C fw flash
      sbn-mcu verify build/mlp --serial /dev/ttyACM0
    QEMU machines are boards too: `make -C fw run` starts one with its UART
    on a pty, which `verify --serial` accepts.
    """
    from .deploy import write_project
    from .targets import boards

    if list_boards:
        for b in boards.BOARDS.values():
            click.echo(b.describe())
        return
    if out_dir is None or board is None or fw_dir is None:
        raise click.UsageError("give OUT_DIR, --board and --out (or --list-boards)")
    info = write_project(out_dir, board, fw_dir)
    b = boards.get(board)
    click.echo(f"wrote {fw_dir} for {b.title}: model {info['model']}, about {info['flash_estimate']:,} of "
               f"{b.flash_bytes:,} B flash and {info['ram_estimate']:,} of {b.ram_bytes:,} B RAM")
    click.echo(f"next: make -C {fw_dir} && " + (f"sbn-mcu flash {fw_dir}" if b.pyocd_target
                                                  else f"make -C {fw_dir} run"))


@main.command()
@click.argument("fw_dir", type=click.Path(path_type=Path))
@click.option("--tool", type=click.Choice(["pyocd", "openocd"]), default=None,
              help="Flashing tool [default: pyocd if installed, else openocd].")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True)
def flash(fw_dir, tool, timeout):
    """Build a firmware project and program the board through a debug probe.

    Runs the project's `make flash` with pyOCD or OpenOCD, whichever is
    installed, and says clearly when neither is, or when no probe answers.
    """
    from .deploy import board_of, flash as run

    log = run(fw_dir, tool, timeout)
    click.echo(log.rstrip().splitlines()[-1] if log.strip() else "")
    click.echo(f"flashed {board_of(fw_dir).title}")


@main.command()
@_train_options
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Folder for the run and the export.")
@click.option("--vectors", type=click.IntRange(min=1), default=20, show_default=True)
def demo(out, vectors, **kw):
    """Train → export → verify on host gcc → verify in QEMU Cortex-M4 → report."""
    from .demo import run

    run(_config(**kw), out, vectors, lambda result: _print_result(result, False))
