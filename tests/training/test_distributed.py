"""Data-parallel training under torchrun: two CPU processes with gloo.

The test runs ``python -m torch.distributed.run ... -m sbn_mcu train``, the
command a user types, and compares it with a one-process run of the same
configuration. They cannot be equal: every process normalises its half of
the global batch with its own batch-norm statistics (no SyncBatchNorm), so
the forward pass, the gradients and from then on the weights differ, and
all-reduce sums in another order. The data order, the global batch and the
initial weights are the same, so both reach a similar accuracy. The
tolerance, 5 points of hard test accuracy on 10,000 images, is about twice
the spread between seeds of this short run (one process, seeds 0-4: 67.3% to
70.3% after epoch 2); a broken gradient average or a wrong sharding would
cost far more (chance is 10%). Validation (1,000 images) is noisier, so it
is only checked to be well above chance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from sbn_mcu.training import TrainConfig, load_checkpoint, train

OPTIONS = {"limit": 1000, "epochs": 2, "val_images": 1000, "seed": 3}


def test_two_processes_train_like_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    args = [a for k, v in OPTIONS.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "sbn_mcu", "train", *args, "--out", str(tmp_path / "ddp")],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("hard-binary test accuracy") == 1  # only rank 0 reports
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["curves.png", "metrics.json", "model.pt",
                                                                     "training.pt"]

    model, state = load_checkpoint(tmp_path / "ddp" / "model.pt")  # what export reads
    assert state["arch"] == "mlp" and 1 <= state["best_epoch"] <= OPTIONS["epochs"]
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())["epochs"]
    _, single = train(TrainConfig(calibration_images=OPTIONS["limit"], **OPTIONS), tmp_path / "one", progress=False)
    for a, b in zip(ddp, single):
        assert a["v"] == b["v"]  # the same number of global steps, so the same schedule
        assert abs(a["hard_accuracy"] - b["hard_accuracy"]) < 0.05, (a, b)
        assert a["val_hard_accuracy"] > 0.5
    one = load_checkpoint(tmp_path / "one" / "model.pt")[0].state_dict()
    assert not all(torch.equal(one[k], t) for k, t in model.state_dict().items())  # see the docstring


def test_uneven_batch_is_one_error_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "sbn_mcu", "train", "--limit", "200", "--epochs", "1", "--batch-size", "127",
                           "--out", str(tmp_path / "bad")],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert ours == ["error: --batch-size 127 does not split evenly over 2 processes; "
                    "choose a multiple of --nproc_per_node"]  # torchrun adds its own failure report below
    assert not (tmp_path / "bad").exists()
