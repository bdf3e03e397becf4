"""Labels and class names, checked the same way for every source, and the seeded hold-out of a
test split."""

from __future__ import annotations

import math

import numpy as np

from .values import finite, fail, where_all


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
    finite(y, f"{where} labels")
    if y.dtype.kind == "f" and y.size and (y != np.round(y)).any():
        value = y[y != np.round(y)][0]
        fail(f"{where} holds the label {value:g}, not a whole number; labels are class indices 0..K-1")
    if y.size and y.min() < 0:
        fail(f"{where} holds the label {int(y.min())}; labels must be class indices 0..K-1")
    return y.astype(np.int64)


def _resolve(parts) -> tuple[dict, tuple, bool]:
    """One source's labels as int64, its class names, and whether the names came from the source
    (``parts``: what the source read, a :class:`.dataset.Parts`).

    Text labels are looked up in the source's class names, or become the sorted
    class names; numeric labels are indices, below the number of class names if
    the source names its classes, else K is the largest label plus one.
    """
    where = dict(parts.where, **(parts.label_where or {}))
    ys = {s: _labels_1d(xy[1], where[s]) for s, xy in parts.splits.items()}
    texts = {s: _is_text(y) for s, y in ys.items()}
    if any(texts.values()) and not all(texts.values()):
        fail(f"{where_all(where)} mixes label names and numbers; give every label the same way")
    given = tuple(str(n) for n in parts.class_names) if parts.class_names is not None else None
    if given is not None and len(set(given)) != len(given):
        fail(f"{where_all(where)} names a class twice in its class names; give each class one name")
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


def labels(parts, test_parts) -> tuple[dict, tuple]:
    """Every split's labels as int64 0..K-1, and the K class names, from the :class:`.dataset.Parts` of
    the source and of its separate test source (or None).

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



def check_fraction(fraction) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        fail(f"test split {fraction!r} must be a fraction between 0 and 1, e.g. --test-split 0.2")


def split_off(x, y, fraction, seed, where):
    """Hold out ``fraction`` of each class (rounded, at least one example of each class stays), chosen by ``seed``.

    Stratified, so the training split keeps every class; both splits keep the source's order.
    """
    check_fraction(fraction)
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
