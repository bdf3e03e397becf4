"""The user's data, with numpy only: the named IDX datasets today.

The toolchain never downloads anything: training must work offline and in CI,
so the data comes from files already on disk (the Debian package
``dataset-fashion-mnist``, or any directory given with ``--data-dir``).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SbnError

# Where the datasets live when no --data-dir is given. Only Fashion-MNIST has a
# Debian package; the MNIST entry exists so the error message can say so.
DEFAULT_DIRS = {
    "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
    "mnist": Path("/usr/share/datasets/mnist"),
}
DATASETS = tuple(DEFAULT_DIRS)  # the CLI's choices


def load(dataset: str, split: str, data_dir: Path | None = None):
    """``(images uint8 (N, 28, 28), labels uint8 (N,))`` of one split; see :func:`.idx.load`."""
    from .idx import load as load_idx

    return load_idx(dataset, split, data_dir)


def fit_model(pixels, input_shape, dataset: str, split: str = "test"):
    """``pixels`` (N, 28, 28) reshaped to the model's input, or one line saying why they cannot be.

    An empty split would check nothing, so it is refused rather than passed.
    """
    import numpy as np

    if len(pixels) == 0:
        raise SbnError(f"the {dataset} {split} split holds no images; nothing to check against, so point "
                       "--data-dir at a folder whose t10k files hold images")
    if int(np.prod(pixels.shape[1:])) != int(np.prod(input_shape)):
        shown = "x".join(map(str, input_shape))
        raise SbnError(f"the model's input shape {shown} does not match the {dataset} images "
                       f"({'x'.join(map(str, pixels.shape[1:]))}); use the dataset the model was trained on")
    return pixels.reshape((len(pixels),) + tuple(input_shape))
