"""The user's data, with numpy only: the named IDX datasets today.

The toolchain never downloads anything: training must work offline and in CI,
so the data comes from files already on disk (the Debian package
``dataset-fashion-mnist``, or any directory given with ``--data-dir``).
"""

from __future__ import annotations

from pathlib import Path

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
