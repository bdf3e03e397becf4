"""``train`` and ``demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import SbnError
from .group import _config, _train_options, main
from ..training.config import DEFAULTS


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
    --weight-v-scale times v. Gradients are those of tanh(min(v, --grad-v-max)*x),
    so they still reach values far from 0 once v is large, and the last
    --sign-finish of the steps forward sign itself (v = inf), so the network
    that trains last is the binary one. Every epoch prints the soft (tanh) and hard
    (binary) test accuracy and the hard accuracy on the validation images;
    batch-norm statistics are re-estimated in hard mode, and the checkpoint
    keeps them.
    model.pt is the last epoch whose validation accuracy came within one
    standard error of the best so far (an earlier epoch must beat it by more
    than the noise): the network to export. The same --seed gives the same checkpoint on the CPU.

    Under torchrun the processes train one model data-parallel (gloo on the
    CPU, NCCL with one GPU per process); --batch-size stays the global batch.

    The data is --data PATH (an .npz, a .csv, an image folder or IDX files)
    or a named --dataset; the input's type, shape, layout, normalisation and
    class names come from it and travel with the model, so export, verify,
    golden, bench and firmware check on this run's own test split.

    \b
    Examples:
      sbn-mcu train --out runs/mlp                          # Fashion-MNIST, inputs-256-256-classes, 15 epochs
      sbn-mcu train --data digits.npz --out runs/digits     # your own arrays
      sbn-mcu train --data photos/ --image-size 32x32 --arch cnn --out runs/photos
      sbn-mcu train --data imu.csv --test-split 0.2 --input-shape 3x50 --normalize per-channel --out runs/imu
      sbn-mcu train --arch cnn --epochs 10 --out runs/cnn
      sbn-mcu train --limit 2000 --epochs 2 --out runs/quick
      sbn-mcu train --arch cnn --epochs 10 --out runs/cnn --resume   # after an interruption
      torchrun --standalone --nproc_per_node 2 -m sbn_mcu train --out runs/ddp
    """
    from ..training.distributed import distributed_ranks
    from ..training.loop import exported_record, train as run

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
    why = (f"hard validation accuracy {100 * chosen['val_hard_accuracy']:.2f}%, within one standard error "
           "of the best"
           if "val_hard_accuracy" in chosen else "the last; no validation")
    click.echo(f"hard-binary test accuracy {100 * chosen['hard_accuracy']:.2f}% "
               f"(soft {100 * chosen['soft_accuracy']:.2f}%) at epoch {best} of {len(metrics)} ({why}); "
               f"wrote {out}/model.pt, metrics.json, curves.png")


@main.command()
@_train_options
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Folder for the run and the export.")
@click.option("--vectors", type=click.IntRange(min=1), default=20, show_default=True)
def demo(out, vectors, **kw):
    """Train → export → verify on host gcc → verify in QEMU Cortex-M4 → report."""
    from ..demo import run

    from .check import _print_result

    run(_config(**kw), out, vectors, lambda result: _print_result(result, False))
