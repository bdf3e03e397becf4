"""Helpers shared by the tests: one-line errors, random models, and the torch, reference and C scores.

Models get their weights and batch-norm statistics from a numpy generator, so
a test is reproducible from its seed alone (``strategies.py`` holds every
random draw). Torch's float64 hard mode is the oracle on the torch side, the
numpy reference on the integer side. Torch is imported inside the helpers, so
tests that do not use them need no torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from sbn_mcu import codegen
from sbn_mcu import verify


def expect_error(match: str, fn, *args, **kwargs) -> str:
    """``fn`` raises one SbnError line matching ``match``; the message is returned for more checks."""
    import pytest

    from sbn_mcu.errors import SbnError

    with pytest.raises(SbnError, match=match) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def randomize(model, rng: np.random.Generator, **options):
    """:func:`strategies.randomize`, imported on use: tests that need no torch import none."""
    from strategies import randomize

    return randomize(model, rng, **options)


def torch_scores(model, pixels: np.ndarray, spec=None) -> np.ndarray:
    """Class scores of the float64 hard-mode network for raw inputs (N, *stored_shape) of ``spec``
    (by default uint8 in torch's order, normalised here independently of the spec's code)."""
    import torch

    from sbn_mcu.training.inputs import normalise
    from sbn_mcu.training.layers import hard_copy

    if spec is None:
        hard = hard_copy(model, 255)
        x = torch.from_numpy(np.asarray(pixels)).double() / 127.5 - 1
    else:
        hard = hard_copy(model, spec.scale)
        x = normalise(spec, torch.from_numpy(np.asarray(pixels))).double()
    with torch.no_grad():
        return hard(x).numpy()


def as_int_scores(scores: np.ndarray) -> np.ndarray:
    """Float scores that must be integers, as int64 (fails if any is not integral)."""
    assert np.all(np.isfinite(scores)) and np.array_equal(scores, np.round(scores)), scores
    return scores.astype(np.int64)


def host_scores(frozen_model, pixels: np.ndarray, extra_flags=(), name: str = "net") -> np.ndarray:
    """Render the C for ``frozen_model``, compile it with gcc and run it on ``pixels``."""
    with tempfile.TemporaryDirectory(prefix="sbn-test-") as tmp:
        for fname, text in codegen.model_sources(frozen_model, name).items():
            (Path(tmp) / fname).write_text(text)
        return verify.host_scores(Path(tmp), name, np.asarray(pixels).reshape(len(pixels), -1),
                                  frozen_model.num_classes, extra_flags=extra_flags)
