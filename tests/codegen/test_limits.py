"""Sums at the limits of their C types.

The first dense layer's sum reaches 255 * n. Up to n = 8,421,504 it fits
int32; one more input and the generated C widens its dense sums and
thresholds to 64 bits by itself. Both sides of that edge must stay exact,
with inputs that drive the sums to their extremes and thresholds placed
right at them.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sbn_mcu import codegen
from sbn_mcu.training import freeze
from sbn_mcu.ir import reference
from sbn_mcu import verify
from sbn_mcu.errors import SbnError
from sbn_mcu.training.layers import SBActivation, SBLinear

INT32_EDGE = (2 ** 31 - 1) // 255  # 8,421,504 inputs: 255 * n still fits int32


def edge_model(n: int) -> nn.Sequential:
    """n inputs → 4 binary units with thresholds near ±255n → 3 class scores."""
    model = nn.Sequential(SBLinear(n, 4), nn.BatchNorm1d(4), SBActivation(), SBLinear(4, 3)).eval()
    with torch.no_grad():
        model[0].weight.fill_(1.0)  # all +1: the sum of all-255 input is exactly +255n (in units of 1/255: n)
        model[0].weight[1].fill_(-1.0)  # all -1: -255n
        model[0].weight[2, ::2].fill_(-1.0)  # alternating: 0 on constant input
        norm = model[1]
        norm.running_var.fill_(1.0 - norm.eps)  # sigma = 1
        norm.weight.copy_(torch.tensor([1.0, -1.0, 1.0, 1.0]))
        norm.bias.zero_()
        # thresholds (in the integer domain, times 255) right at the extremes
        norm.running_mean.copy_(torch.tensor([n - 1 / 255, -n + 1 / 255, 0.0, n + 1.0], dtype=torch.float64))
        model[3].weight.copy_(torch.tensor([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, 1.0, 1.0], [1.0, 1.0, -1.0, 1.0]]))
    return model


@pytest.mark.parametrize("n", [INT32_EDGE, INT32_EDGE + 1], ids=["int32-edge", "widened"])
def test_dense_sums_at_the_int32_edge(n, tmp_path):
    frozen = freeze.freeze(edge_model(n), (n,))
    files = codegen.model_sources(frozen, "edge")
    assert ("sbn_dense_u8_wide(" in files["edge.c"]) == (n > INT32_EDGE)  # the 64-bit copy of the kernel
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    rng = np.random.default_rng(0)
    pixels = np.stack([np.full(n, 255, np.uint8), np.zeros(n, np.uint8), rng.integers(0, 256, n, dtype=np.uint8)])
    pixels[2, :n // 2] = 255  # a sum far from 0
    expected = reference.run(frozen, pixels)
    assert (expected[0] != expected[1]).any()  # the extremes land on different sides of the thresholds
    got = verify.host_scores(tmp_path, "edge", pixels, frozen.num_classes,
                             extra_flags=["-Wconversion", "-Wshadow", "-fsanitize=undefined",
                                          "-fno-sanitize-recover=all"])
    np.testing.assert_array_equal(got, expected)


def test_scores_that_cannot_fit_int32_are_refused():
    model = nn.Sequential(SBLinear(INT32_EDGE + 1, 2)).eval()
    with pytest.raises(SbnError, match="int32"):
        freeze.freeze(model, (INT32_EDGE + 1,))
