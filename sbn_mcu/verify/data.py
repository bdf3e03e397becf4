"""The inputs a verification runs on: the run's own test split, or the vectors given."""

from __future__ import annotations

from pathlib import Path


from .. import data
from ..errors import SbnError
from ..ir import reference


def test_split(model, data_dir: Path | None, limit: int | None):
    """The test images and labels of the model's dataset, flat, the first ``limit`` of them."""
    dataset = model.meta.get("dataset", "fashion-mnist")
    pixels, labels = data.load(dataset, "test", data_dir)
    if limit is not None:
        pixels, labels = pixels[:limit], labels[:limit]
    pixels = data.fit_model(pixels, model.input_shape, dataset)
    return pixels.reshape(len(pixels), -1), labels


def golden_vectors(model, vectors: int, data_dir: Path | None):
    """The first ``vectors`` test images with their labels and reference scores."""
    if vectors < 1:
        raise SbnError("--vectors must be at least 1")
    pixels, labels = test_split(model, data_dir, vectors)
    if len(pixels) < vectors:
        raise SbnError(f"--vectors {vectors} is more than the {len(pixels)} test images; "
                       f"use --vectors {len(pixels)} or fewer")
    return pixels, labels, reference.run(model, pixels)
