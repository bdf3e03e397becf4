"""scikit-learn's handwritten digits (8x8, 16 grey levels, 10 classes) as your own data:
saved as an .npz, then train -> export -> verify through the command line.

    python examples/digits.py [OUT_DIR]      # needs scikit-learn (pip install "sbn-mcu[examples]")
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from _cli import train_export_verify

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/digits")
out.mkdir(parents=True, exist_ok=True)

digits = load_digits()
x = digits.images.astype(np.uint8)  # (1797, 8, 8), values 0..16: the type is uint8
y = digits.target
order = np.random.default_rng(0).permutation(len(x))
test, train = order[:360], order[360:]
np.savez(out / "digits.npz", x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
         class_names=np.array([str(d) for d in range(10)]))

# 16 grey levels of 256: the per-channel normalisation learns the data's own range
train_export_verify(out, "digits", "--data", out / "digits.npz", "--input-layout", "chw", "--normalize", "per-channel",
                    "--epochs", 30, "--batch-size", 64, "--val-images", 0)
