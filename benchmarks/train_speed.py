"""Seconds per training epoch of sbn and ste against float, on the same architecture and data.

    python benchmarks/train_speed.py --archs mlp,cnn --limit mlp=20000,cnn=5000 --rounds 3

Each round trains every method for ``--epochs`` epochs on the first
``--limit`` Fashion-MNIST training images with ``sbn_mcu.training`` (the
defaults: the sharpening schedule, its sign finish and the gradient cap
included), and keeps the training loop's seconds (no evaluation). The
methods take turns within a round, and the fastest round of each counts, so
that other jobs on the machine slow every method alike and a busy moment
drops out. The accuracy benchmark's ``÷ float`` column times one run of
each, and on a shared machine varies more than the gap it measures.

Writes train_speed.json and train_speed.md into --out (default: this
folder). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch

from accuracy import per_arch  # beside this file
from sbn_mcu.files import write_atomically
from sbn_mcu.training.config import TrainConfig
from sbn_mcu.training.loop import train

HERE = Path(__file__).resolve().parent
METHODS = ("float", "sbn", "ste")


def epoch_seconds(arch: str, method: str, epochs: int, limit: int, seed: int) -> float:
    """Training-loop seconds per epoch of one run."""
    config = TrainConfig(arch=arch, method=method, epochs=epochs, limit=limit, seed=seed, val_images=1000,
                         calibration_images=1000)
    with tempfile.TemporaryDirectory(prefix="sbn-speed-") as tmp:
        _, metrics = train(config, Path(tmp) / "run", progress=False)
    return sum(m["seconds"] for m in metrics) / len(metrics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="mlp,cnn", help="comma-separated architectures")
    parser.add_argument("--limit", default="mlp=20000,cnn=5000", help="training images, for every arch or per arch")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (the sign finish is in the last)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every method; the fastest counts")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=HERE, help="where train_speed.json and .md go")
    args = parser.parse_args()
    archs = args.archs.split(",")
    limits = per_arch(args.limit, archs, "--limit")
    torch.set_num_threads(args.threads)
    rows = []
    for arch in archs:
        seconds: dict[str, list[float]] = {m: [] for m in METHODS}
        for r in range(args.rounds):
            for method in METHODS:
                seconds[method].append(epoch_seconds(arch, method, args.epochs, limits[arch], r))
                print(f"{arch} round {r + 1}/{args.rounds} {method}: {seconds[method][-1]:.2f} s/epoch", flush=True)
        best = {m: min(s) for m, s in seconds.items()}
        rows += [{"arch": arch, "method": m, "images": limits[arch], "seconds_per_epoch": round(best[m], 3),
                  "all_rounds": [round(s, 3) for s in seconds[m]], "vs_float": round(best[m] / best["float"], 3)}
                 for m in METHODS]
    command = "python benchmarks/train_speed.py " + " ".join(sys.argv[1:])
    lines = ["# Training speed: seconds per epoch against float", "",
             f"Command: `{command}`", "",
             f"Machine: {platform.machine()}, torch {torch.__version__} with {args.threads} thread(s). "
             f"The fastest of {args.rounds} rounds, {args.epochs} epochs each, the methods taking turns.", "",
             "| Arch | Images | Method | s / epoch | ÷ float | Every round |", "|---|---:|---|---:|---:|---|"]
    lines += [f"| {r['arch']} | {format(r['images'], ',') if r['images'] else 'all'} | {r['method']} | "
              f"{r['seconds_per_epoch']:.2f} | {r['vs_float']:.2f} | {', '.join(f'{s:.2f}' for s in r['all_rounds'])} |"
              for r in rows]
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / "train_speed.json",
                     lambda p: p.write_text(json.dumps({"command": command, "rows": rows}, indent=2) + "\n"))
    write_atomically(args.out / "train_speed.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
