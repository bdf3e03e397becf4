"""Training: Adam with a cosine learning rate while ``v`` sharpens to ``sign``.

Every epoch evaluates the soft network (tanh) and the hard binary network,
the one that is exported. Before the hard evaluation, batch-norm statistics
are re-estimated in hard mode: ``sign`` changes the distribution of every
pre-activation, and stale soft statistics are the largest part of the
soft-hard gap. The checkpoint keeps those hard statistics.

Model selection uses a validation split held out of the *training* images
(seeded; the test split is only ever reported): ``model.pt`` is the epoch
with the best hard validation accuracy, which is what a user exports.
Under ``torchrun`` the same loop runs data-parallel (see :func:`train`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import data, models
from .errors import SbnError
from .layers import METHODS, clip_latent_weights, hard_copy, set_hard, set_method, set_sharpness, set_weight_norm
from .schedule import Sharpening

CHECKPOINT_FORMAT = "sbn-mcu-checkpoint"
CHECKPOINT_VERSION = 1
INPUT_SHAPE = (1, 28, 28)


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """``x = (2p - 255) / 255`` in [-1, 1]; the frozen model folds this in."""
    return pixels.to(torch.float32) / 127.5 - 1.0


@dataclass
class TrainConfig:
    dataset: str = "fashion-mnist"
    arch: str = "mlp"
    method: str = "sbn"  # sbn, or the ste / float baselines
    epochs: int = 10
    data_dir: Path | None = None
    limit: int | None = None
    seed: int = 0
    batch_size: int = 128
    lr: float = 3e-3
    device: str = "cpu"  # cpu, cuda, or auto (cuda when there is one)
    v_start: float = 1.0
    v_end: float = 100.0  # chosen on validation: see schedule.py
    v_shape: str = "exponential"
    weight_norm: bool = True  # sbn: tanh(s * v * w / mean|w|) per output channel; see schedule.py
    weight_v_scale: float = 0.3  # s: weights sharpen from 0.3 to 30 while activations go from 1 to 100
    grad_clip: float = 0.0  # largest gradient norm per step; 0: no clipping (see schedule.py)
    calibration_images: int = 10000
    val_images: int = 5000  # held out of the training split to pick the best epoch; 0: keep the last


def _images(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).unsqueeze(1)  # N, 1, 28, 28, uint8


@torch.no_grad()
def calibrate_hard(model: nn.Module, pixels: torch.Tensor, batch: int = 1000) -> nn.Module:
    """A float64 hard-mode copy whose batch norms hold hard-mode statistics."""
    hard = hard_copy(model)
    norms = [m for m in hard.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over all calibration batches
        m.train()
    device = next(model.parameters()).device
    for start in range(0, len(pixels), batch):
        hard(normalise(pixels[start:start + batch]).to(device, torch.float64))
    return hard.eval()


@torch.no_grad()
def accuracy(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(pixels), batch):
        x = normalise(pixels[start:start + batch]).to(device, dtype)
        correct += (model(x).argmax(1).cpu() == labels[start:start + batch]).sum().item()
    return correct / max(len(pixels), 1)


def save_checkpoint(path: Path, model: nn.Module, config: TrainConfig, metrics: list[dict],
                    best_epoch: int | None = None) -> None:
    """Write atomically: a crash never leaves a half-written checkpoint.

    ``metrics`` is the history of the saved network, so its last record (which
    export copies into the frozen model) describes that network.
    """
    state = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "architecture": models.describe(model), "input_shape": list(INPUT_SHAPE),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "dataset": config.dataset, "arch": config.arch, "method": config.method, "metrics": metrics,
        "best_epoch": best_epoch if best_epoch is not None else len(metrics),
    }
    _write_atomically(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """The model (float32, soft mode) and the checkpoint's other fields."""
    path = Path(path)
    if not path.is_file():
        raise SbnError(f"checkpoint {path} does not exist; train one with `sbn-mcu train`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise SbnError(f"checkpoint {path} is corrupt or truncated ({type(err).__name__}); "
                       "train again or restore it") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise SbnError(f"{path} is not an sbn-mcu checkpoint; export needs a model.pt "
                       "written by `sbn-mcu train` (or sbn_mcu.train.save_checkpoint)")
    missing = [k for k in ("architecture", "input_shape", "state_dict") if k not in state]
    if missing:
        raise SbnError(f"checkpoint {path} lacks {', '.join(missing)}; it was not written by sbn-mcu")
    if state.get("version") != CHECKPOINT_VERSION:
        raise SbnError(f"{path} has checkpoint version {state.get('version')}; this sbn-mcu reads "
                       f"version {CHECKPOINT_VERSION}")
    model = models.build(state["architecture"])
    if state.get("method", "sbn") not in METHODS:
        raise SbnError(f"checkpoint {path} names an unknown training method {state.get('method')!r}")
    set_method(model, state.get("method", "sbn"))
    try:
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, KeyError) as err:
        detail = " ".join(str(err).split())
        raise SbnError(f"checkpoint {path} does not match its architecture: {detail[:300]}") from None
    return model, state


def plot_curves(metrics: list[dict], path: Path, best_epoch: int | None = None) -> None:
    """Soft and hard test accuracy, hard validation accuracy, and v, per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [m["epoch"] for m in metrics]
    fig, acc_ax = plt.subplots(figsize=(7, 4))
    acc_ax.plot(epochs, [100 * m["soft_accuracy"] for m in metrics], "o-", label="soft (tanh)")
    acc_ax.plot(epochs, [100 * m["hard_accuracy"] for m in metrics], "s-", label="hard (binary)")
    if "val_hard_accuracy" in metrics[0]:
        acc_ax.plot(epochs, [100 * m["val_hard_accuracy"] for m in metrics], "^:", label="hard, validation")
    if best_epoch:
        acc_ax.axvline(best_epoch, color="0.6", linestyle="-.", label=f"best epoch {best_epoch} (exported)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_xlim(0.5, max(epochs) + 0.5)
    acc_ax.set_ylabel("accuracy (%; test unless marked)")
    acc_ax.grid(alpha=0.3)
    v_ax = acc_ax.twinx()
    v_ax.semilogy(epochs, [m["v"] for m in metrics], "k--", alpha=0.5, label="sharpness v")
    v_ax.set_ylabel("v (log scale)")
    lines = acc_ax.get_legend_handles_labels()
    more = v_ax.get_legend_handles_labels()
    acc_ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


TRAINING_STATE = "training.pt"  # the run's state after its last finished epoch, for --resume
RESUME_FIELDS = ("dataset", "arch", "method", "epochs", "limit", "seed", "batch_size", "lr", "v_start", "v_end",
                 "v_shape", "weight_norm", "weight_v_scale", "grad_clip", "val_images")


def _plain_config(config: TrainConfig) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()}


def _load_training_state(path: Path, config: TrainConfig) -> dict:
    if not path.is_file():
        raise SbnError(f"nothing to resume: {path} does not exist; train without --resume first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise SbnError(f"{path} is corrupt or truncated ({type(err).__name__}); train without --resume") from None
    saved = state.get("config", {}) if isinstance(state, dict) else {}
    changed = [k for k in RESUME_FIELDS if saved.get(k) != _plain_config(config).get(k)]
    if changed:
        raise SbnError(f"--resume needs the options of the interrupted run; {', '.join('--' + k.replace('_', '-') for k in changed)} "
                       "differ")
    return state


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (an error without a GPU) or ``auto`` (cuda when there is one)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SbnError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise SbnError(f"unknown device {name!r}; choose cpu, cuda or auto")
    return torch.device(name)


@dataclass
class Ranks:
    """This process's place in a data-parallel run (torchrun sets RANK, WORLD_SIZE, LOCAL_RANK)."""

    rank: int = 0
    world: int = 1
    local: int = 0
    started_group: bool = False  # whether train() initialised the process group and must end it

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def distributed_ranks() -> Ranks:
    """The torchrun environment, or a single process without it."""
    try:
        return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                     int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise SbnError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (run under torchrun)") from None


def _start_group(ranks: Ranks, device: torch.device, batch_size: int) -> torch.device:
    """Join the torchrun process group: gloo on the CPU, NCCL with one GPU per process."""
    if ranks.world == 1:
        return device
    if batch_size % ranks.world:
        raise SbnError(f"--batch-size {batch_size} does not split evenly over {ranks.world} processes; "
                       "choose a multiple of --nproc_per_node")
    if device.type == "cuda":
        if ranks.local >= torch.cuda.device_count():
            raise SbnError(f"process {ranks.local} has no GPU of its own ({torch.cuda.device_count()} visible); "
                           "use --nproc_per_node <= the number of GPUs")
        device = torch.device("cuda", ranks.local)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        ranks.started_group = True
    return device


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
          model: nn.Sequential | None = None, resume: bool = False) -> tuple[nn.Module, list[dict]]:
    """Train, evaluate soft and hard every epoch, and write the run folder.

    ``model`` is any ``nn.Sequential`` of sbn-mcu layers taking 1x28x28
    images; without it, ``config.arch`` names one. ``config.val_images``
    training images (seeded, never test images) are held out: every epoch
    measures the hard network on them, and the returned model, like
    ``model.pt``, is the best epoch's by that validation accuracy (the last
    epoch's when ``val_images`` is 0). After every epoch the whole training
    state is saved, and ``resume`` continues from it: the result is the same
    as that of an uninterrupted run. Under torchrun the processes train one
    data-parallel model (DistributedDataParallel) and only rank 0 writes.
    """
    if model is None and config.arch not in models.ARCHITECTURES:
        raise SbnError(f"unknown architecture {config.arch!r}; choose one of {', '.join(models.ARCHITECTURES)}")
    if config.method not in METHODS:
        raise SbnError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    if config.val_images < 0:
        raise SbnError("--val-images must be 0 (no validation) or more")
    if not 0 < config.weight_v_scale < float("inf"):
        raise SbnError(f"--weight-v-scale must be positive and finite, not {config.weight_v_scale}")
    if not 0 <= config.grad_clip < float("inf"):
        raise SbnError(f"--grad-clip must be 0 (off) or positive and finite, not {config.grad_clip}")
    ranks = distributed_ranks()
    device = _start_group(ranks, resolve_device(config.device), config.batch_size)
    try:
        return _train(config, Path(out_dir), progress and ranks.main, model, resume, ranks, device)
    finally:
        if ranks.started_group:
            torch.distributed.destroy_process_group()


def _train(config: TrainConfig, out_dir: Path, progress: bool, model: nn.Sequential | None, resume: bool,
           ranks: Ranks, device: torch.device) -> tuple[nn.Module, list[dict]]:
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    all_x, all_y = data.load(config.dataset, "train", config.data_dir)
    test_x, test_y = data.load(config.dataset, "test", config.data_dir)
    keep, held = split_validation(len(all_x), config.val_images, config.seed)
    train_x, train_y, val_x, val_y = all_x[keep], all_y[keep], all_x[held], all_y[held]
    if config.limit is not None:
        train_x, train_y = train_x[:config.limit], train_y[:config.limit]
    train_x, val_x, test_x = _images(train_x), _images(val_x), _images(test_x)
    train_y, val_y, test_y = (torch.from_numpy(y).long() for y in (train_y, val_y, test_y))
    if ranks.main:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SbnError(f"cannot create run folder {out_dir}: {err.strerror}") from None

    saved = _load_training_state(out_dir / TRAINING_STATE, config) if resume else None
    if saved is not None:
        model = models.build(saved["architecture"])
    model = set_method(model if model is not None else models.ARCHITECTURES[config.arch](), config.method).to(device)
    set_weight_norm(model, config.weight_norm)
    # a last batch must give every process at least 2 images, or batch norm cannot train on it
    steps_per_epoch = len(train_x) // config.batch_size + (len(train_x) % config.batch_size >= 2 * ranks.world)
    if steps_per_epoch == 0:
        raise SbnError(f"{len(train_x)} training images are too few for {ranks.world} process(es); "
                       "raise --limit or lower --val-images")
    total = steps_per_epoch * config.epochs
    sharpening = Sharpening(config.v_start, config.v_end, total, config.v_shape)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, total)
    loss_fn = nn.CrossEntropyLoss()
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
            set_sharpness(model, sharpening.value, config.weight_v_scale)
            x, y = normalise(train_x[idx]).to(device), train_y[idx].to(device)
            loss = loss_fn(trainer(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            clip_latent_weights(model)
            lr_schedule.step()
            sharpening.step()
            if step % 20 == 0 and progress:
                bar.set_postfix(loss=f"{loss.item():.3f}", v=f"{sharpening.value:.1f}")
        seconds = time.perf_counter() - started
        if ranks.main:  # one evaluation, on the whole sets, as in a 1-process run
            best = _evaluate(model, epoch, seconds, sharpening.value, calibration, (val_x, val_y),
                             (test_x, test_y), metrics, best, progress)
            _write_atomically(out_dir / TRAINING_STATE, lambda path: torch.save({
                "config": _plain_config(config), "architecture": models.describe(model),
                "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "lr_schedule": lr_schedule.state_dict(), "sharpening_step": sharpening.step_count,
                "generator": generator.get_state(), "metrics": metrics, "best": best}, path))
            _write_metrics(out_dir, config, metrics, best["epoch"])
        ranks.barrier()
    if not ranks.main:
        return model, metrics
    # the checkpoint holds the best epoch's network with its hard statistics: the one exported
    model.load_state_dict({k: v.to(torch.float32) for k, v in best["state"].items()})
    save_checkpoint(out_dir / "model.pt", model, config, metrics[:best["epoch"]], best["epoch"])
    _write_metrics(out_dir, config, metrics, best["epoch"])
    return model, metrics


def _evaluate(model, epoch, seconds, v, calibration, val, test, metrics, best, progress) -> dict:
    """Append the epoch's record to ``metrics``; the new best ``{"epoch", "state"}``."""
    hard = calibrate_hard(model, calibration)
    record = {"epoch": epoch, "v": v, "seconds": round(seconds, 2),
              "soft_accuracy": accuracy(model, *test), "hard_accuracy": accuracy(hard, *test)}
    if len(val[0]):
        record["val_hard_accuracy"] = accuracy(hard, *val)
    metrics.append(record)
    # ties go to the later, more trained epoch; without validation the last epoch wins
    if best is None or record.get("val_hard_accuracy", 1.0) >= metrics[best["epoch"] - 1].get("val_hard_accuracy", 0.0):
        best = {"epoch": epoch, "state": {k: t.to(torch.float32).clone() for k, t in hard.state_dict().items()}}
    if progress:
        val_text = f"  val {100 * record['val_hard_accuracy']:.2f}%" if "val_hard_accuracy" in record else ""
        tqdm.write(f"epoch {epoch:3d}  v {v:8.1f}  soft {100 * record['soft_accuracy']:.2f}%  "
                   f"hard {100 * record['hard_accuracy']:.2f}%{val_text}  ({seconds:.1f} s)")
    return best


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def exported_record(out_dir: Path) -> dict:
    """The metrics record of the epoch that ``model.pt`` holds, from ``metrics.json``."""
    written = json.loads((Path(out_dir) / "metrics.json").read_text())
    return written["epochs"][written["best_epoch"] - 1]


def _write_metrics(out_dir: Path, config: TrainConfig, metrics: list[dict], best_epoch: int) -> None:
    """metrics.json and curves.png, as they stand after the last epoch."""
    _write_atomically(out_dir / "metrics.json", lambda path: path.write_text(
        json.dumps({"config": _plain_config(config), "best_epoch": best_epoch, "epochs": metrics}, indent=2)))
    plot_curves(metrics, out_dir / "curves.png", best_epoch)
