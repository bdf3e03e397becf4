"""The inputs a check runs on: the run's own test split, which the model remembers, or the vectors given."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import data
from ..errors import SbnError
from ..ir import reference
from ..ir.input_spec import InputSpec


def test_split(model, data_path: Path | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test examples, flat ``(N, size)`` in the C's order, and their labels: those of the
    data the model was trained on (the ``source`` its meta records), or of ``data_path``, a source
    of the same kind. Data that does not fit the model is one line; it is never replaced."""
    spec: InputSpec = model.spec
    source = model.meta.get("data", {}).get("source")
    if data_path is not None:  # data of the kind trained on is read with the same options
        path = Path(data_path).resolve()
        same_kind = source and data.detect(path).kind == source.get("kind")
        recorded = {k: v for k, v in (source or {}).items() if k not in ("dataset", "data_dir")}
        dataset = data.reopen({**recorded, "path": str(path)}) if same_kind else data.open(path)
    elif source:
        dataset = data.reopen(source)
    elif model.meta.get("dataset") in data.DATASETS:  # written before models recorded their data
        dataset = data.open(dataset=model.meta["dataset"])
    else:
        raise SbnError("the model does not record its data; give the test data with --data PATH")
    x, labels = dataset.x_test, dataset.y_test
    shown = lambda shape: "x".join(map(str, shape))  # noqa: E731
    if tuple(x.shape[1:]) != spec.stored_shape:
        raise SbnError(f"the data's examples are {shown(x.shape[1:])}, but the model takes "
                       f"{shown(spec.stored_shape)} ({spec.layout}); give the data the model was trained on")
    if dataset.dtype != spec.dtype:
        raise SbnError(f"the data holds {dataset.dtype} values, but the model takes {spec.dtype}; give the data "
                       "the model was trained on")
    if spec.num_classes and len(dataset.class_names) != spec.num_classes:
        raise SbnError(f"the data has {len(dataset.class_names)} classes, but the model has {spec.num_classes}; "
                       "give the data the model was trained on")
    if len(x) == 0:
        raise SbnError("the data's test split holds no examples; nothing to check against")
    if limit is not None:
        x, labels = x[:limit], labels[:limit]
    return spec.check(x), np.asarray(labels, np.int64)


def golden_vectors(model, vectors: int, data_path: Path | None):
    """The first ``vectors`` test examples with their labels and reference scores."""
    if vectors < 1:
        raise SbnError("--vectors must be at least 1")
    x, labels = test_split(model, data_path, vectors)
    if len(x) < vectors:
        raise SbnError(f"--vectors {vectors} is more than the {len(x)} test examples; "
                       f"use --vectors {len(x)} or fewer")
    return x, labels, reference.run(model, x)
