"""The ``sbn-mcu`` group, its error handling and the options that several commands share."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..data import DATASETS
from ..errors import SbnError
from ..ir.input_spec import NORMALISATIONS, TYPES
from ..training.config import ARCHITECTURES, DEFAULTS, METHODS, SIGN_FINISH

# Optional modules and the extra of pyproject.toml that installs each.
EXTRAS = {"torch": "train", "tqdm": "train", "matplotlib": "train", "PIL": "images", "sklearn": "examples"}

DATA_HELP = ("Data to check on instead of the run's own test split: a source of the same kind as the "
             "training data (its test split is used).")


class Sizes(click.ParamType):
    """``HxW`` or ``CxL`` or ``CxHxW``: positive sizes joined by x."""

    name = "sizes"

    def __init__(self, ranks: tuple[int, ...], example: str):
        self.ranks, self.example = ranks, example

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            sizes = tuple(int(part) for part in str(value).lower().split("x"))
        except ValueError:
            sizes = ()
        if len(sizes) not in self.ranks or min(sizes, default=0) < 1:
            self.fail(f"{value!r} is not a size like {self.example}", param, ctx)
        return sizes


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
        except ModuleNotFoundError as err:  # an optional dependency: name its extra
            extra = EXTRAS.get((err.name or "").split(".")[0])
            if extra is None:
                raise
            click.secho(f"error: this needs {err.name}, which the {extra!r} extra installs: "
                        f'pip install "sbn-mcu[{extra}]"', fg="red", err=True)
            sys.exit(1)
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
      sbn-mcu summary --data mine.npz --arch cnn --board microbit   # before training
      sbn-mcu train --data mine.npz --arch cnn --out runs/mine      # or Fashion-MNIST without --data
      sbn-mcu train --arch mlp --epochs 15 --out runs/mlp
      sbn-mcu export runs/mlp/model.pt --out build/mlp --name fm
      sbn-mcu verify build/mlp --host
      sbn-mcu verify build/mlp --qemu cortex-m4
      sbn-mcu golden build/mlp --out golden     # vectors for your own firmware tests
      sbn-mcu firmware build/mlp --board nucleo-f446re --out fw
      sbn-mcu report build/mlp --bench cortex-m4 --out report.html
    or everything at once:  sbn-mcu demo
    """


def _options(f, options):
    for option in reversed(options):
        f = option(f)
    return f


def _data_options(f):
    """The options that name the data and how to read it: train's, demo's and summary's."""
    d = DEFAULTS
    return _options(f, [
        click.option("--data", type=click.Path(path_type=Path), default=None, metavar="PATH",
                     help="Your data: an .npz (x_train, y_train, x_test, y_test), a .csv (one example per row), "
                          "an image folder (PATH/train/<class>/*.png, PATH/test/<class>/...) or a folder of "
                          "IDX files. Overrides --dataset."),
        click.option("--dataset", type=click.Choice(DATASETS), default=d.dataset, show_default=True,
                     help="Named IDX dataset to train on when no --data is given."),
        click.option("--test-data", type=click.Path(path_type=Path), default=None, metavar="PATH",
                     help="The test split, where --data has none (e.g. --data train.csv --test-data test.csv)."),
        click.option("--test-split", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
                     help="Or hold out this seeded fraction of --data as the test split (e.g. 0.2)."),
        click.option("--input-type", type=click.Choice(list(TYPES)), default=None,
                     help="The raw input's C type [default: from the data's values]."),
        click.option("--input-layout", type=click.Choice(["chw", "hwc", "cl"]), default=None,
                     help="How the examples' axes read: chw (C, H, W, or H, W for one channel), hwc (H, W, C: "
                          "channels interleaved, as camera frames arrive), cl (C, L windows) [default: from the "
                          "source; a 3-D array is read as C, L]."),
        click.option("--image-size", type=Sizes((2,), "32x32"), default=None, metavar="HxW",
                     help="Image folders: resize every image to H x W."),
        click.option("--color", type=click.Choice(["gray", "rgb"]), default=None,
                     help="Image folders: gray (1 channel) or rgb (3, interleaved) [default: from the images]."),
        click.option("--label-column", default=None, metavar="NAME|INDEX",
                     help="CSV: the label's column [default: 'label', else the last]."),
        click.option("--input-shape", type=Sizes((2, 3), "3x50 or 1x28x28"), default=None, metavar="CxL|CxHxW",
                     help="Reshape each example's flat features (CSV, flat npz) to C x L or C x H x W."),
        click.option("--normalize", type=click.Choice(list(NORMALISATIONS)), default=d.normalize, show_default=True,
                     help="range: the input type's range onto [-1, 1]; per-channel: an offset and scale per "
                          "channel learned on the training split. Both fold into integer arithmetic in the C."),
        click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                     help="Folder with the four IDX files of --dataset [default: /usr/share/datasets/<dataset>]."),
    ])


ARCH_HELP = ("A preset (" + "; ".join(f"{name}: {what}" for name, what in ARCHITECTURES.items())
             + ") or a layer spec: comma-separated convKHxKW:C (2-D), convK:C (1-D), poolK or poolKHxKW, "
             "dense:N, dropout:P; convolutions pad 'same', and a last dense:CLASSES may be left out. "
             "E.g. \"conv3x3:32,pool2,conv3x3:64,pool2,dense:10\" or \"conv5:16,pool2,conv5:32,pool2\".")


def _train_options(f):
    d = DEFAULTS
    return _data_options(_options(f, [
        click.option("--arch", default=d.arch, show_default=True, metavar="PRESET|SPEC", help=ARCH_HELP),
        click.option("--method", type=click.Choice(list(METHODS)), default=d.method, show_default=True,
                     help=" ".join(f"{name}: {what}." for name, what in METHODS.items())
                     + " The baselines train the same architecture."),
        click.option("--limit", type=click.IntRange(min=1), default=None,
                     help="Train on the first N training examples only (quick runs)."),
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
        click.option("--weight-v-fan-in", type=click.FloatRange(min=0), default=d.weight_v_fan_in,
                     show_default=True, help="sbn: weight layers of fan-in F below this sharpen sqrt(this / F) "
                                             "times faster (0: off); for small first convolutions."),
        click.option("--grad-v-max", type=click.FloatRange(min=0), default=d.grad_v_max, show_default=True,
                     help="sbn: back-propagate the gradient of tanh(min(v, this)*x), so that it still reaches "
                          "values far from 0 once v is large (0: that of tanh(v*x))."),
        click.option("--sign-finish", type=click.FloatRange(0, 1, max_open=True), default=d.sign_finish,
                     help="sbn: this fraction of the training steps, at the end, forwards sign itself (v = inf) "
                          "with the gradient of tanh at --v-end. Default: "
                          f"{SIGN_FINISH['convolutional']} for a network with convolutions, "
                          f"{SIGN_FINISH['dense']} without."),
        click.option("--teacher", type=click.Path(path_type=Path), default=None,
                     help="A float run's model.pt on the same data (--method float): the loss adds the "
                          "distance to its softened scores (knowledge distillation)."),
        click.option("--teacher-weight", type=click.FloatRange(0, 1), default=d.teacher_weight, show_default=True,
                     help="The teacher's share of the loss, with --teacher."),
        click.option("--augment", type=click.IntRange(min=0), default=d.augment, show_default=True,
                     help="Move each training input by up to this many pixels (or samples) along every axis; "
                          "0: off."),
        click.option("--flip/--no-flip", default=d.flip, show_default=True,
                     help="Mirror half of the training inputs left to right; only for data whose mirror "
                          "image has the same class."),
        click.option("--grad-clip", type=click.FloatRange(min=0), default=d.grad_clip, show_default=True,
                     help="Clip each step's gradient norm to this (0: no clipping)."),
        click.option("--epochs", type=click.IntRange(min=1), default=d.epochs, show_default=True),
    ]))


def _config(**kw):
    from dataclasses import replace

    return replace(DEFAULTS, **kw)  # the demo has no --val-images: it keeps the default



def train_option_names() -> set[str]:
    """The option names of ``sbn-mcu train`` (``--epochs``, ``--no-weight-norm``, ...), for the report."""
    return {name for param in main.commands["train"].params for name in (*param.opts, *param.secondary_opts)}
