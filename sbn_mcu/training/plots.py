"""Training curves: soft and hard accuracy and the sharpness ``v`` per epoch."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..files import write_atomically


def plot_curves(metrics: list[dict], path: Path, best_epoch: int | None = None) -> None:
    """Soft and hard test accuracy, hard validation accuracy, and v, per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # one epoch, or a flat curve, makes matplotlib warn about singular limits: noise, not news
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _plot(plt, metrics, path, best_epoch)


def _plot(plt, metrics: list[dict], path: Path, best_epoch: int | None) -> None:
    epochs = [m["epoch"] for m in metrics]
    fig, acc_ax = plt.subplots(figsize=(7, 4))
    acc_ax.plot(epochs, [100 * m["soft_accuracy"] for m in metrics], "o-", label="soft (tanh)")
    acc_ax.plot(epochs, [100 * m["hard_accuracy"] for m in metrics], "s-", label="hard (binary)")
    if "val_hard_accuracy" in metrics[0]:
        acc_ax.plot(epochs, [100 * m["val_hard_accuracy"] for m in metrics], "^:", label="hard, validation")
    if best_epoch:
        acc_ax.axvline(best_epoch, color="0.6", linestyle="-.", label=f"epoch {best_epoch} (exported)")
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
    try:
        write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)


