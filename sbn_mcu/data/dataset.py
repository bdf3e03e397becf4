"""The :class:`Dataset` every source produces, and the checks they all share.

A source module only reads its files into :class:`Parts` (arrays and labels as
found on disk). :func:`assemble` does the rest, the same way for every kind:
the optional ``test_data`` file, the ``test_split`` hold-out, the input type,
the layout, the labels and their class names, and every consistency check.
Each problem is one :class:`~sbn_mcu.errors.SbnError` line that names the file
and the fix.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SbnError
from ..ir import input_spec

TYPE_ORDER = ("uint8", "int8", "int16")  # inference takes the first that holds every value
LAYOUT_CHOICES = ("flat", "cl", "chw", "hwc")
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


def fail(message: str):
    """Raise the one-line error (newlines in user data cannot break the one-line rule)."""
    raise SbnError(" ".join(str(message).split()))


# --- the input type ------------------------------------------------------------


def _finite(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and x.size and not np.isfinite(x).all():
        bad = "NaN" if np.isnan(x).any() else "an infinite value"
        fail(f"{where} holds {bad}; replace missing or broken values before training")


def _whole(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and x.size and (x != np.round(x)).any():
        value = x[x != np.round(x)].flat[0]
        fail(f"{where} holds {value:g}, not a whole number; quantise the inputs to int8 or int16 first "
             "(e.g. round(x * 127 / max|x|)), the C takes integers")


def _range(arrays) -> tuple[int, int] | None:
    present = [a for a in arrays if a.size]
    if not present:
        return None
    return int(min(a.min() for a in present)), int(max(a.max() for a in present))


def input_type(arrays: dict, forced: str | None, where: dict) -> str:
    """The input type of ``arrays`` (split -> x): forced, kept, or the smallest that holds every value."""
    if forced is not None and forced not in input_spec.TYPES:
        fail(f"input type {forced!r} is not supported; choose one of {', '.join(input_spec.TYPES)}")
    for split, x in arrays.items():
        if x.dtype.kind not in "biuf":
            fail(f"{where[split]} holds {x.dtype} values, not numbers; the inputs must be integers "
                 f"({', '.join(TYPE_ORDER)})")
        _finite(x, where[split])
        _whole(x, where[split])
    span = _range(arrays.values())
    if forced is not None:
        lo, hi = input_spec.TYPES[forced][2:]
        if span and (span[0] < lo or span[1] > hi):
            fail(f"{_where_all(where)} holds values {span[0]}..{span[1]}, outside {forced} ({lo}..{hi}); "
                 "choose a wider --input-type or rescale the data")
        return forced
    names = {np.dtype(x.dtype).name for x in arrays.values()}
    if len(names) == 1 and next(iter(names)) in input_spec.TYPES:
        return next(iter(names))
    if span is None:
        return "uint8"
    for name in TYPE_ORDER:
        lo, hi = input_spec.TYPES[name][2:]
        if lo <= span[0] and span[1] <= hi:
            return name
    fail(f"{_where_all(where)} holds values {span[0]}..{span[1]}, beyond int16 (-32768..32767); "
         "rescale the inputs to int16 or int8 first")


def _where_all(where: dict) -> str:
    files = list(dict.fromkeys(where.values()))
    return files[0] if len(files) == 1 else " and ".join(files)


# --- the layout -----------------------------------------------------------------


def arrange(x: np.ndarray, where: str, *, hint: str = "array", input_layout: str | None = None,
            input_shape=None) -> tuple[np.ndarray, str]:
    """``x`` with the full stored shape of its layout, and that layout.

    ``input_shape`` reshapes each example (its size must match): two sizes make
    ``cl``, three ``chw`` (``H, W, C`` with ``input_layout="hwc"``), one ``flat``.
    Otherwise ``(N, F)`` is flat, ``(N, C, L)`` cl (gray images ``(N, 1, H, W)``
    when ``hint`` is ``image`` or ``input_layout`` is ``chw``), ``(N, C, H, W)``
    chw, and with ``input_layout="hwc"`` an ``(N, H, W, C)`` array is hwc.
    """
    if input_layout is not None and input_layout not in LAYOUT_CHOICES:
        fail(f"input layout {input_layout!r} is not supported; choose one of {', '.join(LAYOUT_CHOICES)}")
    if x.ndim < 2:
        fail(f"{where} has shape {x.shape}; the inputs need one example per row, (N, features) or more axes")
    n, example = x.shape[0], tuple(x.shape[1:])
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if not 1 <= len(shape) <= 3 or min(shape) < 1:
            fail(f"input shape {shape} must be 1 to 3 positive sizes: (F,), (C, L) or (C, H, W)")
        if math.prod(shape) != math.prod(example):
            fail(f"{where} has examples of {math.prod(example)} values {example}, which cannot take the input "
                 f"shape {'x'.join(map(str, shape))} ({math.prod(shape)} values); fix --input-shape")
        layout = {1: "flat", 2: "cl", 3: "chw"}[len(shape)]
        if input_layout == "hwc" and len(shape) == 3:
            layout = "hwc"
        elif input_layout not in (None, layout):
            fail(f"input shape {shape} gives layout {layout}, not {input_layout}; drop one of the two options")
        return x.reshape((n, *shape)), layout
    if input_layout == "flat":
        return x.reshape(n, -1), "flat"
    if input_layout == "hwc":
        if x.ndim != 4:
            fail(f"{where} has shape {x.shape}; --input-layout hwc needs (N, H, W, C)")
        return x, "hwc"
    if input_layout == "cl":
        if x.ndim != 3:
            fail(f"{where} has shape {x.shape}; --input-layout cl needs (N, C, L)")
        return x, "cl"
    if input_layout == "chw" or (input_layout is None and hint == "image"):
        if x.ndim == 3:
            return x.reshape(n, 1, *example), "chw"
        if x.ndim == 4:
            return x, "chw"
        fail(f"{where} has shape {x.shape}; images need (N, H, W) or (N, C, H, W)")
    if x.ndim > 4:
        fail(f"{where} has shape {x.shape}; examples may have at most 3 axes: (N, F), (N, C, L) or (N, C, H, W)")
    return x, {2: "flat", 3: "cl", 4: "chw"}[x.ndim]


# --- labels -----------------------------------------------------------------


def _labels_1d(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        fail(f"{where} labels have shape {y.shape}; give one label per example, shape (N,)")
    return y


def _is_text(y: np.ndarray) -> bool:
    return y.dtype.kind in "US"


def _text(y: np.ndarray) -> np.ndarray:
    return y.astype(str) if y.dtype.kind == "S" else y


def _numeric_labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.dtype.kind not in "biuf":
        fail(f"{where} labels are {y.dtype}, not numbers or names; give integer labels 0..K-1")
    _finite(y, f"{where} labels")
    if y.dtype.kind == "f" and y.size and (y != np.round(y)).any():
        value = y[y != np.round(y)][0]
        fail(f"{where} holds the label {value:g}, not a whole number; labels are class indices 0..K-1")
    if y.size and y.min() < 0:
        fail(f"{where} holds the label {int(y.min())}; labels must be class indices 0..K-1")
    return y.astype(np.int64)


def _resolve(parts: Parts) -> tuple[dict, tuple, bool]:
    """One source's labels as int64, its class names, and whether the names came from the source.

    Text labels are looked up in the source's class names, or become the sorted
    class names; numeric labels are indices, below the number of class names if
    the source names its classes, else K is the largest label plus one.
    """
    where = dict(parts.where, **(parts.label_where or {}))
    ys = {s: _labels_1d(xy[1], where[s]) for s, xy in parts.splits.items()}
    texts = {s: _is_text(y) for s, y in ys.items()}
    if any(texts.values()) and not all(texts.values()):
        fail(f"{_where_all(where)} mixes label names and numbers; give every label the same way")
    given = tuple(str(n) for n in parts.class_names) if parts.class_names is not None else None
    if given is not None and len(set(given)) != len(given):
        fail(f"{_where_all(where)} names a class twice in its class names; give each class one name")
    if any(texts.values()):
        names = given or tuple(sorted({str(v) for y in ys.values() for v in _text(y)}))
        lookup = {name: i for i, name in enumerate(names)}
        out = {}
        for s, y in ys.items():
            strings = _text(y)
            unknown = sorted(set(strings.tolist()) - set(lookup))
            if unknown:
                fail(f"{where[s]} holds the class {unknown[0]!r} in its {s} split, which is not among the "
                     f"{len(names)} training classes; every split needs the same classes")
            out[s] = np.array([lookup[v] for v in strings.tolist()], np.int64)
        return out, names, True
    out = {s: _numeric_labels(y, where[s]) for s, y in ys.items()}
    if given is not None:
        for s, y in out.items():
            if y.size and y.max() >= len(given):
                fail(f"{where[s]} holds the label {int(y.max())}, outside 0..{len(given) - 1} for its "
                     f"{len(given)} class names; labels must be class indices 0..K-1")
        return out, given, True
    top = max((int(y.max()) for y in out.values() if y.size), default=-1)
    return out, tuple(str(i) for i in range(top + 1)), False


def labels(parts: Parts, test_parts: Parts | None) -> tuple[dict, tuple]:
    """Every split's labels as int64 0..K-1, and the K class names.

    A separate test source may not bring classes the training data lacks: its
    named classes are matched to the training classes by name, its plain
    indices must lie below K.
    """
    ys, names, _ = _resolve(parts)
    if test_parts is None:
        return ys, names
    test_ys, test_names, named = _resolve(test_parts)
    where = test_parts.where["test"]
    y = test_ys["test"]
    if named:
        extra = [n for n in test_names if n not in names]
        if extra:
            fail(f"{where} has {len(test_names)} classes, among them {extra[0]!r} which the {len(names)} "
                 "training classes lack; test and training data need the same classes")
        ys["test"] = np.array([names.index(n) for n in test_names], np.int64)[y] if y.size else y
    else:
        if y.size and y.max() >= len(names):
            fail(f"{where} holds the label {int(y.max())} ({int(y.max()) + 1} classes) but the training data has "
                 f"{len(names)} classes (0..{len(names) - 1}); test and training data need the same classes")
        ys["test"] = y
    return ys, names


# --- assembling a Dataset ------------------------------------------------------------


def _check_fraction(fraction) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        fail(f"test split {fraction!r} must be a fraction between 0 and 1, e.g. --test-split 0.2")


def _split_off(x, y, fraction, seed, where):
    """Hold out ``fraction`` of each class (rounded, at least one example of each class stays), chosen by ``seed``.

    Stratified, so the training split keeps every class; both splits keep the source's order.
    """
    _check_fraction(fraction)
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        count = min(int(math.floor(len(members) * fraction + 0.5)), len(members) - 1)
        held.append(rng.permutation(members)[:count])
    test = np.sort(np.concatenate(held))
    if len(test) == 0:
        fail(f"{where} holds {len(x)} examples, too few to hold out {fraction:g} of each class as the test split; "
             "give --test-data PATH or more examples")
    train = np.setdiff1d(np.arange(len(x)), test)
    return (x[train], y[train]), (x[test], y[test])


def assemble(source: Source, path, options: dict) -> Dataset:
    """Read ``path`` (and ``options["test_data"]``) with ``source.read(path, options)`` and check it all."""
    path, read, kind = Path(path), source.read, source.kind
    if options.get("test_split") is not None:
        _check_fraction(options["test_split"])
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
        (xs["train"], ys["train"]), (xs["test"], ys["test"]) = _split_off(
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
