"""Shared helpers for the layer, packing, freeze and random-architecture tests.

Models get their weights and batch-norm statistics from a numpy generator, so
a test is reproducible from its seed alone. Torch's float64 hard mode is the
oracle on the torch side, the numpy reference on the integer side. Torch is
imported inside the helpers, so tests that do not use them need no torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

import numpy as np

from sbn_mcu import codegen
from sbn_mcu import verify


# Each test module's layer, for `pytest -m LAYER` (pyproject.toml lists the markers):
# unit needs only Python and the host gcc; cross needs the Arm cross compiler or QEMU;
# train runs training; chain runs whole train -> export -> verify jobs.
LAYERS = {
    "cross": ("test_bench", "test_c_quality", "test_firmware", "test_golden", "test_kernels_qemu", "test_runtime",
              "test_summary", "test_toolchain", "test_without_torch"),
    "train": ("test_train", "test_distributed", "test_cli", "test_robustness", "test_packaging"),
    "chain": ("test_chain", "test_examples", "test_own_data", "test_report"),
}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.path.stem
        layer = next((name for name, modules in LAYERS.items() if module in modules), "unit")
        item.add_marker(getattr(pytest.mark, layer))


def expect_error(match: str, fn, *args, **kwargs) -> str:
    """``fn`` raises one SbnError line matching ``match``; the message is returned for more checks."""
    import pytest

    from sbn_mcu.errors import SbnError

    with pytest.raises(SbnError, match=match) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def randomize(model, rng: np.random.Generator, input_spread: float = 0.58):
    """Random weights (some exactly 0 or -0.0) and batch-norm statistics.

    Batch-norm statistics are scaled to the fan-in of the layer before them so
    that channels are neither all +1 nor all -1; about a fifth of the gammas
    are exactly 0 and about half are negative; beta takes both signs.
    ``input_spread`` is the standard deviation of the first layer's inputs
    (uniform bytes mapped to [-1, 1] have about 0.58).
    """
    import torch
    from torch import nn

    from sbn_mcu.training.layers import SBConv2d, SBLinear

    fan_in, first = 1, True
    for m in model.modules():
        if isinstance(m, (SBLinear, SBConv2d)):
            w = rng.normal(size=tuple(m.weight.shape))
            w[rng.random(w.shape) < 0.05] = 0.0
            w[rng.random(w.shape) < 0.05] = -0.0
            m.weight.data = torch.from_numpy(w).to(m.weight.dtype)
            fan_in = int(np.prod(m.weight.shape[1:])) * (input_spread ** 2 if first else 1.0)
            first = False
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            std = float(np.sqrt(max(fan_in, 1e-3)))
            gamma = rng.normal(size=n) * rng.choice([0.1, 1.0, 10.0], size=n)
            gamma[rng.random(n) < 0.2] = 0.0
            mean, var = rng.normal(scale=0.7 * std, size=n), std ** 2 * rng.uniform(0.05, 3.0, size=n)
            if m.track_running_stats:  # without, batch norm uses each batch's statistics
                m.running_mean.copy_(torch.from_numpy(mean))
                m.running_var.copy_(torch.from_numpy(var))
            if m.affine:
                m.weight.data = torch.from_numpy(gamma).to(m.weight.dtype)
                m.bias.data = torch.from_numpy(rng.normal(size=n)).to(m.bias.dtype)
    return model.eval()


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
