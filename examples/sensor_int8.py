"""A 1-D sensor classifier on int8 windows of 3 channels (an accelerometer's x, y, z), here
generated: still, walking (a slow swing), shaking (fast and rough). Saved as an .npz of
(N, 3, 64) int8 windows, then train -> export -> verify through the command line, on the
host and on QEMU's Cortex-M0 and M4.

    python examples/sensor_int8.py [OUT_DIR] [ARCH]   # ARCH: cnn (1-D convolutions, the default) or mlp
"""

import sys
from pathlib import Path

import numpy as np

from _cli import sbn, train_export_verify

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sensor_int8")
arch = sys.argv[2] if len(sys.argv) > 2 else "cnn"
out.mkdir(parents=True, exist_ok=True)
LENGTH, CLASSES = 64, ("still", "walking", "shaking")


def windows(count: int, rng: np.random.Generator):
    t = np.arange(LENGTH)
    labels = rng.integers(0, len(CLASSES), count)
    x = rng.normal(0, 6, (count, 3, LENGTH))  # sensor noise
    x[:, 2] += 60  # gravity on z
    for i, label in enumerate(labels):
        phase = rng.uniform(0, 2 * np.pi, 3)
        if label == 1:  # walking: about 2 steps per window, mostly on x and z
            x[i] += np.array([30, 8, 20])[:, None] * np.sin(2 * np.pi * t / rng.uniform(24, 40) + phase[:, None])
        elif label == 2:  # shaking: fast, on every axis
            x[i] += rng.uniform(25, 45) * np.sin(2 * np.pi * t / rng.uniform(4, 7) + phase[:, None])
    return np.clip(np.round(x), -128, 127).astype(np.int8), labels


rng = np.random.default_rng(0)
(x_train, y_train), (x_test, y_test) = windows(1500, rng), windows(300, rng)
np.savez(out / "imu.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
         class_names=np.array(CLASSES))

train_export_verify(out, "imu", "--data", out / "imu.npz", "--arch", arch, "--epochs", 10, "--batch-size", 64,
                    "--val-images", 0)
sbn("bench", out / "export", "--cpu", "cortex-m0,cortex-m4", "--vectors", 5)
