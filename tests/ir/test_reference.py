"""The reference's per-layer trace: each op's step, and the scores that run() gives."""

from __future__ import annotations

import numpy as np

from sbn_mcu.ir import reference
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv2d, Dense, Flatten


def test_the_trace_holds_every_layer_and_ends_with_the_scores():
    rng = np.random.default_rng(0)
    signs = lambda *shape: np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)  # noqa: E731
    conv = Conv2d(weights=signs(4, 2, 3, 3), thresholds=rng.integers(-5, 6, 4), padding=(1, 1))
    dense = Dense(weights=signs(3, 4 * 5 * 6), thresholds=None)
    model = FrozenModel(InputSpec((2, 5, 6), "int8"), [conv, Flatten(), dense])
    x = rng.integers(-128, 128, (7, 2, 5, 6), dtype=np.int8)
    steps = reference.trace(model, x)
    assert [s.shape[1:] for s in steps] == model.shapes()[1:]
    assert set(np.unique(steps[0])) <= {-1, 1}  # thresholded
    np.testing.assert_array_equal(steps[-1], reference.run(model, x, batch=3))
    q = model.spec.integers(x)
    np.testing.assert_array_equal(steps[0], np.where(conv.reference(q) >= conv.thresholds.reshape(1, -1, 1, 1), 1, -1))
