"""Everything after freeze works without the training extra: an export folder
is verified, benchmarked and turned into board firmware in a Python where
importing torch (or tqdm, or matplotlib) fails."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from sbn_mcu import codegen, ops
from sbn_mcu.ir.model import FrozenModel


def frozen_mlp(rng: np.random.Generator) -> FrozenModel:
    """A 784-40-10 model made from numpy alone, no training."""
    def signs(*shape):
        return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)

    hidden = ops.Dense(signs(40, 784), rng.integers(-3000, 3000, 40))
    return FrozenModel((1, 28, 28), [ops.Flatten(), hidden, ops.Dense(signs(10, 40))], {"dataset": "fashion-mnist"})


def test_verify_bench_and_firmware_without_torch(tmp_path):
    export = codegen.ExportFolder.create(tmp_path / "export", frozen_mlp(np.random.default_rng(0)), "fm").path
    blocked = tmp_path / "blocked"
    for name in ("torch", "tqdm", "matplotlib"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "sbn_mcu", *args], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env)
    assert "torch is not installed here" in probe.stderr  # the block works
    assert "0 mismatches" in run("verify", str(export), "--host", "--limit", "200")
    assert "cortex-m0" in run("bench", str(export), "--cpu", "cortex-m0", "--vectors", "2")
    assert "wrote" in run("firmware", str(export), "--board", "mps2-an386", "--out", str(tmp_path / "fw"))
    assert (tmp_path / "fw" / "Makefile").is_file()


def test_a_missing_extra_is_named_in_one_line(tmp_path):
    """Without torch, train says which extra installs it (Python raises ModuleNotFoundError then)."""
    blocked = tmp_path / "blocked"
    (blocked / "torch").mkdir(parents=True)
    (blocked / "torch" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "sbn_mcu", "train", "--epochs", "1", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: this needs torch, which the 'train' extra installs: pip install \"sbn-mcu[train]\""]
