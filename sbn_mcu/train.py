"""Training: Adam with a cosine learning rate while ``v`` sharpens to ``sign``.

Every epoch evaluates the soft network (tanh) and the hard binary network,
the one that is exported. Before the hard evaluation, batch-norm statistics
are re-estimated in hard mode: ``sign`` changes the distribution of every
pre-activation, and stale soft statistics are the largest part of the
soft-hard gap. The checkpoint keeps those hard statistics.
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
from .layers import METHODS, clip_latent_weights, hard_copy, set_hard, set_method, set_sharpness
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
    device: str = "cpu"
    v_start: float = 1.0
    v_end: float = 1000.0
    v_shape: str = "exponential"
    calibration_images: int = 10000


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


def save_checkpoint(path: Path, model: nn.Module, config: TrainConfig, metrics: list[dict]) -> None:
    """Write atomically: a crash never leaves a half-written checkpoint."""
    state = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "architecture": models.describe(model), "input_shape": list(INPUT_SHAPE),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "dataset": config.dataset, "arch": config.arch, "method": config.method, "metrics": metrics,
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


def plot_curves(metrics: list[dict], path: Path) -> None:
    """Soft and hard test accuracy, and v, per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [m["epoch"] for m in metrics]
    fig, acc_ax = plt.subplots(figsize=(7, 4))
    acc_ax.plot(epochs, [100 * m["soft_accuracy"] for m in metrics], "o-", label="soft (tanh)")
    acc_ax.plot(epochs, [100 * m["hard_accuracy"] for m in metrics], "s-", label="hard (binary, exported)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_xlim(0.5, max(epochs) + 0.5)
    acc_ax.set_ylabel("test accuracy (%)")
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
RESUME_FIELDS = ("dataset", "arch", "method", "epochs", "limit", "seed", "batch_size", "lr", "v_start", "v_end", "v_shape")


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


def train(config: TrainConfig, out_dir: Path, progress: bool = True,
          model: nn.Sequential | None = None, resume: bool = False) -> tuple[nn.Module, list[dict]]:
    """Train, evaluate soft and hard every epoch, and write the run folder.

    ``model`` is any ``nn.Sequential`` of sbn-mcu layers taking 1x28x28
    images; without it, ``config.arch`` names one. After every epoch the
    whole training state is saved, and ``resume`` continues from it: the
    result is the same as that of an uninterrupted run.
    """
    if model is None and config.arch not in models.ARCHITECTURES:
        raise SbnError(f"unknown architecture {config.arch!r}; choose one of {', '.join(models.ARCHITECTURES)}")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise SbnError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    train_x, train_y = data.load(config.dataset, "train", config.data_dir)
    test_x, test_y = data.load(config.dataset, "test", config.data_dir)
    if config.limit is not None:
        train_x, train_y = train_x[:config.limit], train_y[:config.limit]
    train_x, test_x = _images(train_x), _images(test_x)
    train_y, test_y = torch.from_numpy(train_y).long(), torch.from_numpy(test_y).long()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SbnError(f"cannot create run folder {out_dir}: {err.strerror}") from None

    device = torch.device(config.device)
    saved = _load_training_state(out_dir / TRAINING_STATE, config) if resume else None
    if saved is not None:
        model = models.build(saved["architecture"])
    if config.method not in METHODS:
        raise SbnError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    model = set_method(model if model is not None else models.ARCHITECTURES[config.arch](), config.method).to(device)
    steps_per_epoch = -(-len(train_x) // config.batch_size)
    total = steps_per_epoch * config.epochs
    sharpening = Sharpening(config.v_start, config.v_end, total, config.v_shape)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, total)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(config.seed)
    calibration = train_x[:config.calibration_images]
    metrics: list[dict] = []
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        lr_schedule.load_state_dict(saved["lr_schedule"])
        sharpening.step_count = saved["sharpening_step"]
        generator.set_state(saved["generator"])
        metrics = list(saved["metrics"])
    hard = None
    for epoch in range(len(metrics) + 1, config.epochs + 1):
        model.train()
        set_hard(model, False)
        started = time.perf_counter()
        order = torch.randperm(len(train_x), generator=generator)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", disable=None if progress else True,
                   leave=False, unit="batch")
        for step in bar:
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            set_sharpness(model, sharpening.value)
            x, y = normalise(train_x[idx]).to(device), train_y[idx].to(device)
            loss = loss_fn(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            clip_latent_weights(model)
            lr_schedule.step()
            sharpening.step()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}", v=f"{sharpening.value:.1f}")
        seconds = time.perf_counter() - started
        hard = calibrate_hard(model, calibration)
        record = {"epoch": epoch, "v": sharpening.value, "seconds": round(seconds, 2),
                  "soft_accuracy": accuracy(model, test_x, test_y),
                  "hard_accuracy": accuracy(hard, test_x, test_y)}
        metrics.append(record)
        if progress:
            tqdm.write(f"epoch {epoch:3d}  v {record['v']:8.1f}  soft {100 * record['soft_accuracy']:.2f}%  "
                       f"hard {100 * record['hard_accuracy']:.2f}%  ({seconds:.1f} s)")
        _write_atomically(out_dir / TRAINING_STATE, lambda path: torch.save({
            "config": _plain_config(config), "architecture": models.describe(model),
            "model": model.state_dict(), "optimiser": optimiser.state_dict(),
            "lr_schedule": lr_schedule.state_dict(), "sharpening_step": sharpening.step_count,
            "generator": generator.get_state(), "metrics": metrics}, path))
        _write_metrics(out_dir, config, metrics)
    # keep the hard statistics: the checkpoint describes the network that is exported
    final = hard if hard is not None else calibrate_hard(model, calibration)  # the last epoch's, if any
    model.load_state_dict({k: v.to(torch.float32) for k, v in final.state_dict().items()})
    save_checkpoint(out_dir / "model.pt", model, config, metrics)
    _write_metrics(out_dir, config, metrics)
    return model, metrics


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_metrics(out_dir: Path, config: TrainConfig, metrics: list[dict]) -> None:
    """metrics.json and curves.png, as they stand after the last epoch."""
    _write_atomically(out_dir / "metrics.json", lambda path: path.write_text(
        json.dumps({"config": _plain_config(config), "epochs": metrics}, indent=2)))
    plot_curves(metrics, out_dir / "curves.png")
