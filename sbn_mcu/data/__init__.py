"""The user's data, with numpy only: a registry of data sources that all give one :class:`Dataset`.

:func:`open` reads a path (its kind detected) or a named IDX set; :func:`reopen`
reads again what a checkpoint recorded (``Dataset.source``); :func:`from_arrays`
wraps numpy arrays from Python. Every source goes through the same checks
(:func:`.dataset.assemble`): the test split (its own, ``test_data`` or a
seeded ``test_split``), the input type (given, kept, or the smallest of
uint8/int8/int16 that holds every value), the layout (``x`` always carries the
full stored shape: flat ``(N, F)``, cl ``(N, C, L)``, chw ``(N, C, H, W)``, hwc
``(N, H, W, C)``), the labels (int64 0..K-1) and the class names. Every problem
is one :class:`~sbn_mcu.errors.SbnError` line that names the file and the fix.

The kinds (:data:`KINDS`):

* ``idx``: a folder of IDX files (:mod:`.idx`), and the named sets of
  :data:`DATASETS` (``dataset="fashion-mnist"``) from their default folder or
  ``data_dir``;
* ``npz``: a ``.npz`` archive with ``x_train``, ``y_train``, ``x_test``,
  ``y_test`` (:mod:`.npz`);
* ``images``: ``PATH/train/<class>/*.png`` (:mod:`.images`);
* ``csv``: a table with a label column (:mod:`.csv`).

**Adding a kind** touches one module plus its tests: write
``sbn_mcu/data/<kind>.py`` with ``detect(path) -> bool`` and
``read(path, options) -> Parts`` (the arrays and labels as found on disk,
see :class:`.dataset.Parts`), end it with
``SOURCE = Source("<kind>", detect, read, "what such a path looks like")``,
and add the module to the ``_MODULES`` line below. Nothing else changes:
:func:`open` detects it, :func:`reopen` reads it, the checks apply.

Nothing is downloaded (:mod:`.idx` says why). Pillow is imported only when images are read,
torch never.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SbnError
from . import csv, idx, images, npz
from .dataset import Dataset, Parts, Source, assemble
from .idx import DATASETS, DEFAULT_DIRS
from .inputs import as_batch, read_inputs

_MODULES = (npz, csv, idx, images)  # the registry, in detection order: add a new kind's module here
KINDS = {module.SOURCE.kind: module.SOURCE for module in _MODULES}

__all__ = ["DATASETS", "DEFAULT_DIRS", "KINDS", "Dataset", "Parts", "Source", "as_batch", "detect",
           "from_arrays", "load", "open", "read_inputs", "reopen"]

_OPTIONS = ("test_data", "test_split", "seed", "input_type", "input_layout", "image_size", "color",
            "label_column", "input_shape")


def detect(path) -> Source:
    """The source that reads ``path``, or one line listing what the kinds look like."""
    path = Path(path)
    if not path.exists():
        raise SbnError(f"data path {path} does not exist; check the path")
    for source in KINDS.values():
        if source.detect(path):
            return source
    kinds = "; ".join(f"{s.kind}: {s.what}" for s in KINDS.values())
    raise SbnError(f"cannot tell what kind of data {path} is; give one of: {kinds}")


def open(path=None, *, dataset=None, data_dir=None, test_data=None, test_split=None, seed=0,
         input_type=None, input_layout=None, image_size=None, color=None, label_column=None,
         input_shape=None) -> Dataset:
    """The :class:`Dataset` at ``path`` (its kind detected) or of the named IDX set ``dataset``.

    ``test_data``: a second file or folder of the same kind holding the test
    split; ``test_split``: a fraction (0, 1) of the training examples held out,
    chosen by ``seed``. ``input_type`` forces uint8, int8 or int16.
    ``input_layout``: ``chw`` (3-D arrays are gray images ``(N, H, W)``),
    ``hwc`` (``(N, H, W, C)``), ``cl`` or ``flat``. ``image_size`` ``(H, W)``
    and ``color`` (gray, rgb) are for image folders, ``label_column`` for CSV,
    ``input_shape`` ``(C, L)`` or ``(C, H, W)`` reshapes flat features
    (``(H, W, C)`` with ``input_layout="hwc"``).
    """
    options = {"test_data": test_data, "test_split": test_split, "seed": seed, "input_type": input_type,
               "input_layout": input_layout, "image_size": image_size, "color": color,
               "label_column": label_column, "input_shape": input_shape}
    if (path is None) == (dataset is None):
        raise SbnError("give exactly one of a data path (--data PATH) or a named dataset "
                       f"(--dataset {'/'.join(DATASETS)})")
    if dataset is not None:
        if dataset not in DEFAULT_DIRS:
            raise SbnError(f"unknown dataset {dataset!r}; choose one of: {', '.join(sorted(DEFAULT_DIRS))}, "
                           "or give your own data with --data PATH")
        directory = DEFAULT_DIRS[dataset] if data_dir is None else Path(data_dir)
        options.update(dataset=dataset, data_dir=None if data_dir is None else Path(data_dir))
        return KINDS["idx"].load(directory, options)
    if data_dir is not None:
        raise SbnError("--data-dir goes with a named --dataset; with --data PATH point the path at the data")
    return detect(path).load(Path(path), options)


def reopen(source: dict) -> Dataset:
    """Load again from a :attr:`Dataset.source` (what a checkpoint recorded)."""
    if not isinstance(source, dict) or "kind" not in source:
        raise SbnError(f"the recorded data source {source!r} is malformed; give the data again with --data PATH")
    kind = source["kind"]
    if kind == "arrays":
        raise SbnError("the data came from numpy arrays in Python, not from files; pass the arrays to "
                       "data.from_arrays again")
    if kind not in KINDS:
        raise SbnError(f"the recorded data source kind {kind!r} is unknown here (known: {', '.join(KINDS)}); "
                       "give the data again with --data PATH")
    if "path" not in source:
        raise SbnError(f"the recorded data source {source!r} is malformed; give the data again with --data PATH")
    options = {k: v for k, v in source.items() if k not in ("kind", "path")}
    for key in ("image_size", "input_shape"):
        if options.get(key) is not None:
            options[key] = tuple(options[key])
    if options.get("dataset"):
        return KINDS[kind].load(source["path"], options)
    path = Path(source["path"])
    if not path.exists():
        raise SbnError(f"the training data {path} is gone; put it back or give the data again with --data PATH")
    return KINDS[kind].load(path, options)


def from_arrays(x_train, y_train, x_test, y_test, *, x_val=None, y_val=None, class_names=None,
                input_type=None, input_layout=None, input_shape=None) -> Dataset:
    """A :class:`Dataset` of numpy arrays from Python, with every check a file would get."""
    splits = {"train": (np.asarray(x_train), np.asarray(y_train)), "test": (np.asarray(x_test), np.asarray(y_test))}
    if (x_val is None) != (y_val is None):
        raise SbnError("give both x_val and y_val, or neither")
    if x_val is not None:
        splits["val"] = (np.asarray(x_val), np.asarray(y_val))
    where = {split: f"x_{split}" for split in splits}
    names = None if class_names is None else tuple(str(n) for n in class_names)
    parts = Parts(splits, where, names)
    source = Source("arrays", lambda path: False, lambda path, options: parts, "numpy arrays")
    dataset = assemble(source, Path("."), {"input_type": input_type, "input_layout": input_layout,
                                           "input_shape": input_shape})
    dataset.source = {"kind": "arrays"}
    return dataset


def load(dataset: str, split: str, data_dir: Path | None = None):
    """``(images uint8 (N, H, W), labels uint8 (N,))`` of one split of a named set; see :func:`.idx.load`."""
    return idx.load(dataset, split, data_dir)


