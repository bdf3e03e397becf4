"""An RGB image folder, as a camera would give it: PATH/train/<class>/*.png and
PATH/test/<class>/*.png, here generated (coloured shapes on noise), then a small CNN
on interleaved (H, W, 3) pixels: train -> export -> verify through the command line.

    python examples/rgb_images.py [OUT_DIR]      # needs Pillow (pip install "sbn-mcu[images]")
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from _cli import train_export_verify

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/rgb_images")
SIZE = 16
CLASSES = {"red_square": (220, 40, 40), "green_disc": (40, 200, 60), "blue_bar": (50, 70, 230)}


def picture(kind: str, colour, rng: np.random.Generator) -> np.ndarray:
    pixels = rng.integers(0, 90, (SIZE, SIZE, 3))  # dark noise
    y, x = np.mgrid[:SIZE, :SIZE]
    cy, cx = rng.integers(5, SIZE - 5, 2)
    if kind == "red_square":
        mask = (abs(y - cy) <= 3) & (abs(x - cx) <= 3)
    elif kind == "green_disc":
        mask = (y - cy) ** 2 + (x - cx) ** 2 <= 12
    else:
        mask = abs(x - cx) <= 1
    pixels[mask] = np.clip(np.array(colour) + rng.integers(-30, 30, 3), 0, 255)
    return pixels.astype(np.uint8)


rng = np.random.default_rng(0)
for split, count in (("train", 300), ("test", 60)):
    for kind, colour in CLASSES.items():
        folder = out / "photos" / split / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(picture(kind, colour, rng)).save(folder / f"{i:04d}.png")

train_export_verify(out, "shapes", "--data", out / "photos", "--color", "rgb", "--arch", "cnn",
                    "--epochs", 4, "--batch-size", 32, "--val-images", 0)
