"""Training: Adam with a cosine learning rate while ``v`` sharpens to ``sign``.

Every epoch evaluates the soft network (tanh) and the hard binary network,
the one that is exported. Before the hard evaluation, batch-norm statistics
are re-estimated in hard mode: ``sign`` changes the distribution of every
pre-activation, and stale soft statistics are the largest part of the
soft-hard gap. The checkpoint keeps those hard statistics.

Model selection uses a validation split held out of the *training* images
(seeded; the test split is only ever reported): ``model.pt`` is the last
epoch whose hard validation accuracy came within one standard error of the
best so far (:func:`keeps_up`), which is what a user exports.
Under ``torchrun`` the same loop runs data-parallel (see :func:`train`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import data
from ..errors import SbnError
from ..files import write_atomically
from ..ir.input_spec import InputSpec
from . import architectures, layer_spec
from .binarizers import METHODS
from .checkpoint import TRAINING_STATE, load_training_state, save, save_checkpoint
from .config import DATA_FIELDS, SIGN_FINISH, TrainConfig, plain
from .distributed import Ranks, distributed_ranks, resolve_device, start_group
from .inputs import augment, normalise
from .layers import BinaryConvolution, clip_latent_weights, hard_copy, set_hard, set_method, set_sharpness, set_weight_norm
from .plots import plot_curves
from .schedule import SHAPES, Sharpening

def open_data(config: TrainConfig) -> "data.Dataset":
    """The run's data: ``config.data`` (a path), else the named ``config.dataset``."""
    options = {name: getattr(config, name) for name in DATA_FIELDS}
    if config.data is not None:
        if options.pop("data_dir") is not None:
            raise SbnError("--data-dir goes with --dataset; with --data, give the path itself")
        return data.open(config.data, seed=config.seed, **options)
    return data.open(dataset=config.dataset, seed=config.seed, **options)


def as_dataset(given) -> "data.Dataset":
    """A :class:`data.Dataset` as is, or a ``(train, test)`` pair of torch ``Dataset`` s of
    ``(raw example, label)`` items, stacked into arrays."""
    if isinstance(given, data.Dataset):
        return given
    if isinstance(given, (tuple, list)) and len(given) == 2:
        def stacked(split):
            if len(split) == 0:
                raise SbnError("a torch Dataset given to train() is empty")
            items = [split[i] for i in range(len(split))]
            x = np.stack([np.asarray(item[0]) for item in items])
            return x, np.array([int(item[1]) for item in items])
        (x_train, y_train), (x_test, y_test) = stacked(given[0]), stacked(given[1])
        return data.from_arrays(x_train, y_train, x_test, y_test)
    raise SbnError("train(dataset=...) takes a sbn_mcu.data.Dataset (data.from_arrays, data.open) or a "
                   "(train, test) pair of torch Datasets")


@torch.no_grad()
def calibrate_hard(model: nn.Module, pixels: torch.Tensor, spec: InputSpec, batch: int = 1000) -> nn.Module:
    """A float64 hard-mode copy whose batch norms hold hard-mode statistics."""
    hard = hard_copy(model, spec.scale)
    norms = [m for m in hard.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over all calibration batches
        m.train()
    device = next(model.parameters()).device
    for start in range(0, len(pixels), batch):
        hard(normalise(spec, pixels[start:start + batch]).to(device, torch.float64))
    return hard.eval()


@torch.no_grad()
def accuracy(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, spec: InputSpec,
             batch: int = 1000) -> float:
    model.eval()
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(pixels), batch):
        x = normalise(spec, pixels[start:start + batch]).to(device, dtype)
        correct += (model(x).argmax(1).cpu() == labels[start:start + batch]).sum().item()
    return correct / max(len(pixels), 1)


def split_validation(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (training, validation) images: a seeded random ``size``, at most a tenth of ``n``.

    The cap keeps small data folders trainable; the full Fashion-MNIST
    training split (60,000) gives the whole default of 5,000.
    """
    size = min(size, n // 10)
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).permutation(n)[:size]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def train(config: TrainConfig, out_dir: Path, progress: bool = True,
          model: nn.Sequential | None = None, resume: bool = False, dataset=None) -> tuple[nn.Module, list[dict]]:
    """Train, evaluate soft and hard every epoch, and write the run folder.

    The data is ``dataset`` (a :class:`sbn_mcu.data.Dataset`, e.g. from
    ``data.from_arrays(x_train, y_train, x_test, y_test)``, or a ``(train,
    test)`` pair of torch Datasets of raw examples and labels), else what
    ``config`` names (``config.data``, or the named ``config.dataset``). The
    checkpoint records its source, content hash and input spec.
    ``model`` is any ``nn.Sequential`` of sbn-mcu layers taking the data's
    examples; without it, ``config.arch`` names one, sized to the data. ``config.val_images``
    training images (seeded, never test images) are held out: every epoch
    measures the hard network on them, and the returned model, like
    ``model.pt``, is the last epoch whose validation accuracy came within one
    standard error of the best so far (:func:`keeps_up`; the last epoch when
    ``val_images`` is 0). After every epoch the whole training
    state is saved, and ``resume`` continues from it: the result is the same
    as that of an uninterrupted run. Under torchrun the processes train one
    data-parallel model (DistributedDataParallel) and only rank 0 writes.
    """
    if model is None and config.arch not in architectures.PRESETS:
        layer_spec.parse(config.arch)  # a malformed spec is one line before anything loads
    if config.method not in METHODS:
        raise SbnError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    if config.val_images < 0:
        raise SbnError("--val-images must be 0 (no validation) or more")
    _check_numbers(config)
    if not 0 < config.weight_v_scale < float("inf"):
        raise SbnError(f"--weight-v-scale must be positive and finite, not {config.weight_v_scale}")
    if not 0 <= config.weight_v_fan_in < float("inf"):
        raise SbnError(f"--weight-v-fan-in must be 0 (off) or positive and finite, not {config.weight_v_fan_in}")
    if config.sign_finish is not None and not 0 <= config.sign_finish < 1:
        raise SbnError(f"--sign-finish must be a fraction from 0 to below 1, not {config.sign_finish}")
    if not 0 <= config.teacher_weight <= 1:
        raise SbnError(f"--teacher-weight must be between 0 and 1, not {config.teacher_weight}")
    if config.augment < 0:
        raise SbnError(f"--augment must be 0 (off) or a number of positions, not {config.augment}")
    if not 0 <= config.grad_clip < float("inf"):
        raise SbnError(f"--grad-clip must be 0 (off) or positive and finite, not {config.grad_clip}")
    ranks = distributed_ranks()
    device = start_group(ranks, resolve_device(config.device), config.batch_size)
    # Binary training makes subnormal floats: tanh's slope 1 - tanh^2 far from 0, and Adam's squares of
    # the tiny gradients that follow. x86 CPUs take many times longer on them, which made a step of
    # sbn or ste up to twice that of float; flushed, values below 1.2e-38 are 0.
    flushing = torch.set_flush_denormal(True)
    try:
        dataset = as_dataset(dataset) if dataset is not None else open_data(config)
        return _train(config, Path(out_dir), progress and ranks.main, model, resume, ranks, device, dataset)
    finally:
        if flushing:
            torch.set_flush_denormal(False)
        if ranks.started_group:
            torch.distributed.destroy_process_group()


def _check_numbers(config: TrainConfig) -> None:
    """Refuse numbers that cannot train, before the run folder exists (NaN fails every comparison)."""
    for option, value in (("--lr", config.lr), ("--v-start", config.v_start), ("--v-end", config.v_end)):
        if not 0 < value < math.inf:
            raise SbnError(f"{option} must be positive and finite, not {value}")
    if config.v_shape not in SHAPES:
        raise SbnError(f"unknown --v-shape {config.v_shape!r}; choose one of {', '.join(SHAPES)}")
    if config.batch_size < 2:
        raise SbnError(f"--batch-size must be 2 or more, not {config.batch_size}: batch norm cannot train "
                       "on one image")
    if config.epochs < 1:
        raise SbnError(f"--epochs must be 1 or more, not {config.epochs}")
    if config.limit is not None and config.limit < 1:
        raise SbnError(f"--limit must be 1 or more, not {config.limit}")
    if config.calibration_images < 1:
        raise SbnError(f"calibration_images must be 1 or more, not {config.calibration_images}")


def _finite(model: nn.Module) -> bool:
    """Whether every weight is finite: one sum per tensor (a NaN or Inf makes its sum non-finite)."""
    return bool(torch.isfinite(torch.stack([p.detach().sum() for p in model.parameters()])).all())


def _train(config: TrainConfig, out_dir: Path, progress: bool, model: nn.Sequential | None, resume: bool,
           ranks: Ranks, device: torch.device, dataset: "data.Dataset") -> tuple[nn.Module, list[dict]]:
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    spec = dataset.spec(config.normalize)
    if (config.augment or config.flip) and len(spec.shape) < 2:
        raise SbnError(f"--augment and --flip move inputs along their positions, and inputs of shape "
                       f"{'x'.join(map(str, spec.shape))} have none: give --input-shape CxL or CxHxW")
    if dataset.x_val is not None:
        train_x, train_y, val_x, val_y = dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val
    else:
        keep, held = split_validation(len(dataset.x_train), config.val_images, config.seed)
        train_x, train_y = dataset.x_train[keep], dataset.y_train[keep]
        val_x, val_y = dataset.x_train[held], dataset.y_train[held]
    if config.limit is not None:
        train_x, train_y = train_x[:config.limit], train_y[:config.limit]
    train_x, val_x, test_x = (torch.from_numpy(np.ascontiguousarray(x)) for x in (train_x, val_x, dataset.x_test))
    train_y, val_y, test_y = (torch.from_numpy(np.asarray(y)).long() for y in (train_y, val_y, dataset.y_test))
    if model is None and not resume:  # a preset or spec that cannot fit the data stops before the run folder
        model = architectures.build_arch(config.arch, spec.shape, spec.num_classes)
    if model is not None:
        _check_fits(model, spec)
    if ranks.main:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SbnError(f"cannot create run folder {out_dir}: {err.strerror}") from None
    data_record = {"source": _kept(dataset, out_dir) if ranks.main else dataset.source, "digest": dataset.digest()}

    saved = load_training_state(out_dir / TRAINING_STATE, config) if resume else None
    if saved is not None:
        model = architectures.build(saved["architecture"])
    model = set_method(model, config.method).to(device)
    set_weight_norm(model, config.weight_norm)
    # a last batch must give every process at least 2 images, or batch norm cannot train on it
    steps_per_epoch = len(train_x) // config.batch_size + (len(train_x) % config.batch_size >= 2 * ranks.world)
    if steps_per_epoch == 0:
        raise SbnError(f"{len(train_x)} training images are too few for {ranks.world} process(es); "
                       "raise --limit or lower --val-images")
    total = steps_per_epoch * config.epochs
    sharpening = Sharpening(config.v_start, config.v_end, total, config.v_shape,
                            finish=min(int(round(sign_finish(config, model) * total)), total - 1))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, total)
    loss_fn = nn.CrossEntropyLoss()
    teacher = _teacher(config, spec, device)
    generator = torch.Generator().manual_seed(config.seed)
    calibration = train_x[:config.calibration_images]
    metrics: list[dict] = []
    best: dict | None = None  # {"epoch", "state"}: the hard-calibrated network of the best epoch so far
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        lr_schedule.load_state_dict(saved["lr_schedule"])
        sharpening.step_count = saved["sharpening_step"]
        generator.set_state(saved["generator"])
        metrics = list(saved["metrics"])
        best = saved["best"]
    # every process computes the same permutation and takes every world-th image of each global
    # batch, as DistributedSampler would; the union of the processes' batches is the 1-process batch
    trainer = model if ranks.world == 1 else nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    for epoch in range(len(metrics) + 1, config.epochs + 1):
        model.train()
        set_hard(model, False)
        started = time.perf_counter()
        order = torch.randperm(len(train_x), generator=generator)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", disable=None if progress else True,
                   leave=False, unit="batch")
        for step in bar:
            idx = order[step * config.batch_size:(step + 1) * config.batch_size][ranks.rank::ranks.world]
            v, grad_v = sharpening.forward_and_gradient(config.grad_v_max)
            set_sharpness(model, v, config.weight_v_scale, config.weight_v_fan_in, grad_v)
            x, y = normalise(spec, train_x[idx]).to(device), train_y[idx].to(device)
            if config.augment or config.flip:
                x = augment(x, generator, config.augment, config.flip)
            scores = trainer(x)
            loss = loss_fn(scores, y)
            if teacher is not None:
                loss = (1 - config.teacher_weight) * loss + config.teacher_weight * distillation(scores, teacher(x))
            if not torch.isfinite(loss.detach()):
                _diverged(out_dir, epoch, step, f"the loss is {loss.item()}")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            clip_latent_weights(model)
            if not _finite(model):
                _diverged(out_dir, epoch, step, "a weight is NaN or Inf")
            lr_schedule.step()
            sharpening.step()
            if step % 20 == 0 and progress:
                bar.set_postfix(loss=f"{loss.item():.3f}", v=f"{sharpening.value:.1f}")
        seconds = time.perf_counter() - started
        if ranks.main:  # one evaluation, on the whole sets, as in a 1-process run
            best = _evaluate(model, spec, epoch, seconds, sharpening.value, calibration, (val_x, val_y),
                             (test_x, test_y), metrics, best, progress)
            save(out_dir / TRAINING_STATE, {
                "config": plain(config), "architecture": architectures.describe(model),
                "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "lr_schedule": lr_schedule.state_dict(), "sharpening_step": sharpening.step_count,
                "generator": generator.get_state(), "metrics": metrics, "best": best})
            _write_metrics(out_dir, config, metrics, best["epoch"])
        ranks.barrier()
    if not ranks.main:
        return model, metrics
    # the checkpoint holds the best epoch's network with its hard statistics: the one exported
    model.load_state_dict({k: v.to(torch.float32) for k, v in best["state"].items()})
    save_checkpoint(out_dir / "model.pt", model, config, metrics[:best["epoch"]], spec, data_record, best["epoch"])
    _write_metrics(out_dir, config, metrics, best["epoch"])
    return model, metrics


def sign_finish(config: TrainConfig, model: nn.Module) -> float:
    """The fraction of the steps that forward ``sign``: ``--sign-finish``, or by default by layer type."""
    if config.sign_finish is not None:
        return config.sign_finish
    convolutional = any(isinstance(m, BinaryConvolution) for m in model.modules())
    return SIGN_FINISH["convolutional" if convolutional else "dense"]


TEMPERATURE = 4.0  # softens the teacher's scores, so that its ranking of the wrong classes teaches too


def distillation(scores: torch.Tensor, teacher_scores: torch.Tensor) -> torch.Tensor:
    """Hinton's distillation term: T² · KL(teacher ‖ student) at temperature T."""
    return TEMPERATURE ** 2 * nn.functional.kl_div(
        nn.functional.log_softmax(scores / TEMPERATURE, dim=1),
        nn.functional.log_softmax(teacher_scores / TEMPERATURE, dim=1), log_target=True, reduction="batchmean")


def _teacher(config: TrainConfig, spec: InputSpec, device: torch.device):
    """The frozen teacher network of ``config.teacher``, checked against the data; or None."""
    if config.teacher is None:
        return None
    from .checkpoint import load_checkpoint

    teacher, state = load_checkpoint(config.teacher)
    theirs = state["spec"]
    if theirs.shape != spec.shape or theirs.num_classes != spec.num_classes:
        raise SbnError(f"--teacher {config.teacher} takes inputs of shape {'x'.join(map(str, theirs.shape))} "
                       f"in {theirs.num_classes} classes, but the data has {'x'.join(map(str, spec.shape))} in "
                       f"{spec.num_classes}: train the teacher on the same data")
    teacher = teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return lambda x: teacher(x).detach()


def _diverged(out_dir: Path, epoch: int, step: int, why: str):
    kept = (f"{out_dir / TRAINING_STATE} keeps epoch {epoch - 1}" if epoch > 1
            else "no epoch finished, nothing was saved")
    raise SbnError(f"training diverged at epoch {epoch}, step {step + 1}: {why}; {kept}; "
                   "lower --lr or set --grad-clip and train again")


def _kept(dataset: "data.Dataset", out_dir: Path) -> dict:
    """The source a checkpoint records. Arrays from Python are kept in the run folder
    (``data.npz``), so that export, verify and golden find the test split as for files."""
    if dataset.source.get("kind") != "arrays":
        return dataset.source
    path = out_dir / "data.npz"
    arrays = {name: getattr(dataset, name) for name in ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val")
              if getattr(dataset, name) is not None}

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as file:  # a file object: np.savez would add .npz to the temporary name
            np.savez(file, class_names=np.array(dataset.class_names), **arrays)

    write_atomically(path, save)
    return data.open(path.resolve(), input_layout=dataset.layout).source


def _check_fits(model: nn.Module, spec: InputSpec) -> None:
    """One line when ``model`` cannot take the data's examples or give its class count."""
    shown = "x".join(map(str, spec.shape))
    try:
        with torch.no_grad():
            scores = model.eval()(torch.zeros((2, *spec.shape)))
    except RuntimeError as err:
        raise SbnError(f"the model does not take the data's inputs of shape {shown}: "
                       f"{str(err).splitlines()[0][:200]}") from None
    if scores.shape != (2, spec.num_classes):
        raise SbnError(f"the model gives {scores.shape[-1]} scores for inputs of shape {shown}, but the data "
                       f"has {spec.num_classes} classes")


def _evaluate(model, spec, epoch, seconds, v, calibration, val, test, metrics, best, progress) -> dict:
    """Append the epoch's record to ``metrics``; the new best ``{"epoch", "state"}``."""
    hard = calibrate_hard(model, calibration, spec)
    record = {"epoch": epoch, "v": v, "seconds": round(seconds, 2),
              "soft_accuracy": accuracy(model, *test, spec), "hard_accuracy": accuracy(hard, *test, spec)}
    if len(val[0]):
        record["val_hard_accuracy"] = accuracy(hard, *val, spec)
    metrics.append(record)
    if keeps_up([m.get("val_hard_accuracy") for m in metrics], len(val[0])):
        best = {"epoch": epoch, "state": {k: t.to(torch.float32).clone() for k, t in hard.state_dict().items()}}
    if progress:
        val_text = f"  val {100 * record['val_hard_accuracy']:.2f}%" if "val_hard_accuracy" in record else ""
        tqdm.write(f"epoch {epoch:3d}  v {v:8.1f}  soft {100 * record['soft_accuracy']:.2f}%  "
                   f"hard {100 * record['hard_accuracy']:.2f}%{val_text}  ({seconds:.1f} s)")
    return best


def keeps_up(val_accuracies: list, val_images: int) -> bool:
    """Whether the last epoch becomes the exported one: its validation accuracy is within one
    standard error of the best so far (``None``: no validation, the last epoch always wins).

    A plain maximum over a flat, noisy curve picks an earlier epoch by chance (one standard
    error is 0.46 points at 88 % of 5,000 images), though later epochs, with the learning
    rate annealed, score higher on test on average; an earlier epoch must be better by more
    than the noise to be kept.
    """
    last = val_accuracies[-1]
    if last is None:
        return True
    best = max(val_accuracies)
    return last >= best - math.sqrt(best * (1 - best) / max(val_images, 1))


def exported_record(out_dir: Path) -> dict:
    """The metrics record of the epoch that ``model.pt`` holds, from ``metrics.json``."""
    written = json.loads((Path(out_dir) / "metrics.json").read_text())
    return written["epochs"][written["best_epoch"] - 1]


def _write_metrics(out_dir: Path, config: TrainConfig, metrics: list[dict], best_epoch: int) -> None:
    """metrics.json and curves.png, as they stand after the last epoch."""
    write_atomically(out_dir / "metrics.json", lambda path: path.write_text(
        json.dumps({"config": plain(config), "best_epoch": best_epoch, "epochs": metrics}, indent=2)))
    plot_curves(metrics, out_dir / "curves.png", best_epoch)
