"""The :class:`Dataset` every source produces, and :func:`assemble`, which makes it.

A source module only reads its files into :class:`Parts` (arrays and labels as
found on disk). :func:`assemble` does the rest, the same way for every kind:
the optional ``test_data`` file, the ``test_split`` hold-out, the input type,
the layout, the labels and their class names, and every consistency check
(the value checks in :mod:`.values`, the label checks and the hold-out in
:mod:`.labels`).
Each problem is one :class:`~sbn_mcu.errors.SbnError` line that names the file
and the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SbnError
from ..ir import input_spec
from .labels import check_fraction, labels, split_off
from .values import arrange, fail, input_type

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Raw examples, in the order the C takes them.

    ``x_*`` are ``(N, *stored_shape)`` arrays of one input type (uint8, int8 or
    int16); ``y_*`` are int64 labels ``0..K-1`` with ``K = len(class_names)``.
    ``layout`` is ``flat`` (N, F), ``cl`` (N, C, L), ``chw`` (N, C, H, W) or
    ``hwc`` (N, H, W, C). ``source`` is JSON-friendly and enough for
    :func:`sbn_mcu.data.reopen`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    layout: str
    source: dict
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def dtype(self) -> str:
        """The input type's name (a key of :data:`sbn_mcu.ir.input_spec.TYPES`)."""
        return np.dtype(self.x_train.dtype).name

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def splits(self):
        """``(name, x, y)`` of each split present: train, val (if any), test."""
        yield "train", self.x_train, self.y_train
        if self.x_val is not None:
            yield "val", self.x_val, self.y_val
        yield "test", self.x_test, self.y_test

    def digest(self) -> str:
        """sha256 hex of every split's arrays, the layout and the class names: the content a checkpoint records."""
        h = hashlib.sha256()
        h.update(f"layout={self.layout};classes={len(self.class_names)};".encode())
        for name in self.class_names:
            h.update(name.encode("utf-8") + b"\x00")
        for name, x, y in self.splits():
            for tag, arr in (("x", x), ("y", y)):
                arr = np.ascontiguousarray(arr)
                h.update(f"{name}.{tag}:{arr.dtype.str}:{arr.shape};".encode())
                h.update(arr.tobytes())
        return h.hexdigest()

    def spec(self, normalisation: str = "range") -> input_spec.InputSpec:
        """The model's :class:`~sbn_mcu.ir.input_spec.InputSpec` for these examples."""
        return input_spec.fit(self.x_train, self.dtype, self.layout, normalisation, self.class_names)


@dataclass
class Parts:
    """What a source read from disk, before the shared checks.

    ``splits`` maps ``train`` (required), ``test`` and ``val`` to ``(x, y)``;
    ``y`` may hold numbers or strings. ``class_names``: names the files give for
    numeric labels 0..K-1 (IDX sets, npz ``class_names``). ``names_are_fixed``:
    image folders, whose labels are already indices into ``class_names``.
    ``where`` maps each split to the file to name in messages. ``kind_hint`` is
    ``image`` for sources whose 3-D arrays are gray images rather than ``cl``.
    """

    splits: dict
    where: dict
    class_names: tuple | None = None
    kind_hint: str = "array"
    missing_test_hint: str = ""
    layout: str | None = None  # set by sources that arrange their arrays themselves (image folders)
    label_where: dict | None = None  # split -> the labels' file, where it is not ``where``'s


@dataclass(frozen=True)
class Source:
    """One kind of data source: ``detect(path)`` says whether ``path`` is one, ``read`` reads its :class:`Parts`.

    ``load(path, options)`` is the whole pipeline, the same for every kind.
    ``what`` says what such a path looks like, for the message when none fits.
    """

    kind: str
    detect: object
    read: object
    what: str
    settle: object = None  # settle(parts_list, options): arrange the arrays once every part is read

    def load(self, path, options: dict | None = None) -> "Dataset":
        try:
            return assemble(self, path, dict(options or {}))
        except SbnError as err:  # one line, whatever a library's message or a file name held
            line = " ".join(str(err).split())
            if line != str(err):
                raise SbnError(line) from None
            raise


def assemble(source: Source, path, options: dict) -> Dataset:
    """Read ``path`` (and ``options["test_data"]``) with ``source.read(path, options)`` and check it all."""
    path, read, kind = Path(path), source.read, source.kind
    if options.get("test_split") is not None:
        check_fraction(options["test_split"])
    parts = read(path, options)
    if "train" not in parts.splits:
        fail(f"{path} holds no training split; point at the training data, not at the test data alone")
    test_data, test_split = options.get("test_data"), options.get("test_split")
    if test_data is not None and test_split is not None:
        fail("give either --test-data PATH or --test-split FRACTION, not both")
    test_parts = None
    if test_data is not None:
        if "test" in parts.splits:
            fail(f"{parts.where['test']} already holds a test split; drop --test-data {test_data}")
        test_path = Path(test_data)
        if not test_path.exists():
            fail(f"test data {test_path} does not exist; check the path")
        test_parts = read(test_path, options)
        split = "test" if "test" in test_parts.splits else "train"
        label_where = dict(test_parts.where, **(test_parts.label_where or {}))
        test_parts = Parts({"test": test_parts.splits[split]}, {"test": test_parts.where[split]},
                           test_parts.class_names, test_parts.kind_hint, layout=test_parts.layout,
                           label_where={"test": label_where[split]})
    elif test_split is not None and "test" in parts.splits:
        fail(f"{parts.where['test']} already holds a test split; drop --test-split")
    elif test_split is None and "test" not in parts.splits:
        hint = parts.missing_test_hint or f"{parts.where['train']} holds no test split"
        fail(f"{hint}; give --test-data PATH (a second file or folder of the same kind) or --test-split 0.2")

    if source.settle is not None:
        source.settle([p for p in (parts, test_parts) if p is not None], options)

    # lengths and emptiness, before anything looks at values
    every = dict(parts.splits)
    where = dict(parts.where)
    if test_parts is not None:
        every["test"], where["test"] = test_parts.splits["test"], test_parts.where["test"]
    for split, (x, y) in every.items():
        if len(x) != len(y):
            fail(f"{where[split]} has {len(x)} {split} examples but {len(y)} labels; x and y must have the "
                 "same length")
        if len(x) == 0:
            fail(f"{where[split]} holds no {split} examples; an empty split trains or checks nothing")

    ys, names = labels(parts, test_parts)
    xs = {split: np.asarray(x) for split, (x, _) in every.items()}
    if len(names) < 2 or len(np.unique(ys["train"])) < 2:
        only = names[int(ys["train"][0])] if len(ys["train"]) else "?"
        fail(f"{where['train']} holds one class only ({only!r}); a classifier needs examples of at least "
             "two classes")

    # the layout of every split, then the type over them all
    layout = None
    for split in list(xs):
        own = test_parts if (split == "test" and test_parts) else parts
        if own.layout is not None:
            this = own.layout
        else:
            xs[split], this = arrange(xs[split], where[split], hint=own.kind_hint,
                                      input_layout=options.get("input_layout"), input_shape=options.get("input_shape"))
        layout = layout or this
        if xs[split].shape[1:] != xs["train"].shape[1:] or this != layout:
            fail(f"{where[split]} has {split} examples of shape {xs[split].shape[1:]} but the training examples "
                 f"are {xs['train'].shape[1:]}; every split needs the same example shape")
    dtype = input_type(xs, options.get("input_type"), where)
    numpy_dtype = input_spec.TYPES[dtype][0]
    xs = {split: np.ascontiguousarray(x.astype(numpy_dtype, copy=False)) for split, x in xs.items()}

    if test_split is not None:
        (xs["train"], ys["train"]), (xs["test"], ys["test"]) = split_off(
            xs["train"], ys["train"], test_split, options.get("seed", 0), where["train"])

    return Dataset(xs["train"], ys["train"], xs["test"], ys["test"], tuple(names), layout,
                   source_dict(kind, path, options), xs.get("val"), ys.get("val"))


def source_dict(kind: str, path, options: dict) -> dict:
    """A JSON-friendly record of where the data came from, enough for :func:`sbn_mcu.data.reopen`."""
    def plain(v):
        if isinstance(v, Path):
            return str(v.resolve())
        if isinstance(v, (tuple, list)):
            return [plain(i) for i in v]
        if isinstance(v, np.generic):
            return v.item()
        return v

    record = {"kind": kind, "path": str(Path(path).resolve()) if path is not None else None}
    for key, value in sorted(options.items()):
        if key == "test_data" and value is not None:
            value = Path(value)
        record[key] = plain(value)
    return record
