"""Every kernel path on emulated cores: portable C (M0, M3) and DSP (M4, M7, M33, M55).

Random small architectures with odd widths, strides, padding and pooling are
exported and their integer scores compared with the reference on each core.
"""

import zlib

import numpy as np
import pytest
import torch
from torch import nn

from sbn_mcu import codegen
from sbn_mcu.training import freeze
from sbn_mcu.ir import reference
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu import toolchain
from sbn_mcu.training.layers import SBActivation, SBConv1d, SBConv2d, SBLinear
from sbn_mcu.verify import golden
from sbn_mcu.targets import cores
from strategies import randomize


def architectures():
    torch.manual_seed(1)
    yield "mlp_odd", (1, 7, 9), nn.Sequential(
        nn.Flatten(), SBLinear(63, 45), nn.BatchNorm1d(45), SBActivation(),
        SBLinear(45, 33), nn.BatchNorm1d(33), SBActivation(), SBLinear(33, 5))
    yield "mlp_wide", (1, 28, 28), nn.Sequential(
        nn.Flatten(), SBLinear(784, 70), nn.BatchNorm1d(70), SBActivation(), SBLinear(70, 10))
    yield "cnn_odd", (3, 11, 9), nn.Sequential(
        SBConv2d(3, 37, 3, stride=1, padding=1), nn.BatchNorm2d(37), SBActivation(), nn.MaxPool2d(2),
        SBConv2d(37, 9, 5, stride=2, padding=2), nn.BatchNorm2d(9), SBActivation(),
        nn.Flatten(), SBLinear(9 * 3 * 2, 4))
    # the integer-input kernels: sbn_input_q with every type and layout, dense_q and conv_q
    yield "mlp_int16_per_channel", InputSpec((63,), "int16", "flat", "per-channel", [3, 70] * 31 + [1],
                                             list(range(-31, 32)), 100), nn.Sequential(
        SBLinear(63, 45), nn.BatchNorm1d(45), SBActivation(), SBLinear(45, 5))
    # 1-D convolutions and pools, and rectangular kernels, strides, padding and pools
    yield "conv1d_uint8", InputSpec((3, 40), "uint8", "cl"), nn.Sequential(
        SBConv1d(3, 20, 5, padding=2), nn.BatchNorm1d(20), SBActivation(), nn.MaxPool1d(2),
        SBConv1d(20, 33, 3, stride=2, padding=1), nn.BatchNorm1d(33), SBActivation(),
        nn.Flatten(), SBLinear(33 * 10, 4))
    yield "conv1d_int8", InputSpec((3, 40), "int8", "cl"), nn.Sequential(
        SBConv1d(3, 20, 5, padding=2), nn.BatchNorm1d(20), SBActivation(), nn.MaxPool1d(3),
        nn.Flatten(), SBLinear(20 * 13, 4))
    yield "cnn_rect", (1, 9, 12), nn.Sequential(
        SBConv2d(1, 10, (1, 5), padding=(0, 2)), nn.BatchNorm2d(10), SBActivation(), nn.MaxPool2d((1, 2)),
        SBConv2d(10, 12, (3, 1), stride=(2, 1), padding=(1, 0)), nn.BatchNorm2d(12), SBActivation(),
        nn.Flatten(), SBLinear(12 * 5 * 6, 3))
    yield "cnn_int8_hwc", InputSpec((3, 11, 9), "int8", "hwc"), nn.Sequential(
        SBConv2d(3, 37, 3, stride=1, padding=1), nn.BatchNorm2d(37), SBActivation(), nn.MaxPool2d(2),
        nn.Flatten(), SBLinear(37 * 5 * 4, 4))


CASES = list(architectures())


@pytest.mark.parametrize("core", list(cores.CORES))
@pytest.mark.parametrize("name,shape,model", CASES, ids=[c[0] for c in CASES])
def test_scores_match_reference_on_core(core, name, shape, model, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{name}-{core}".encode()))
    frozen = freeze.freeze(randomize(model, rng), shape)
    files = codegen.model_sources(frozen, "net")
    for file, text in files.items():
        (tmp_path / file).write_text(text)
    lo, hi = frozen.spec.range
    pixels = rng.integers(lo, hi + 1, (6, frozen.input_size)).astype(frozen.spec.numpy_dtype)
    pixels[0] = lo  # extremes: the smallest and largest inputs
    pixels[1] = hi
    expected = reference.run(frozen, pixels)
    result = golden.run_golden(core, [tmp_path / "net.c"], [tmp_path], "net", pixels, expected,
                                  tmp_path / "build")
    assert result.mismatches == 0, result.log
    assert all(result.passed)
