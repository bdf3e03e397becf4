"""Random architectures through the whole chain: torch hard mode, freeze, the
numpy reference and the generated C compiled with the host gcc.

Each example compiles once and runs a batch of inputs, so the number of
examples is kept small; the draws are derandomized, so CI sees the same ones.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from support import as_int_scores, host_scores, torch_scores
from sbn_mcu.ir import input_spec, reference
from sbn_mcu.training.freeze import freeze
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear, Scores
from strategies import networks, random_inputs, random_kernels, random_spec, randomize

CHAIN = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
N_INPUTS = 20


def check_chain(model: nn.Sequential, input_shape: tuple, seed: int, extra_flags=(), spec_draw=None) -> None:
    rng = np.random.default_rng(seed)
    spec = random_spec(rng, input_shape, *spec_draw) if spec_draw else input_spec.as_spec(input_shape)
    randomize(model, rng)
    fm = freeze(model, spec)
    random_kernels(rng, fm)  # the faster kernels of --optimize speed too
    pixels = random_inputs(rng, spec, N_INPUTS)
    expected = reference.run(fm, pixels)
    got = host_scores(fm, pixels, extra_flags=extra_flags)
    bad = np.flatnonzero((got != expected).any(axis=1))
    assert bad.size == 0, f"C differs from the reference on inputs {bad.tolist()}:\n{got[bad]}\n{expected[bad]}"
    hard = as_int_scores(torch_scores(model, pixels, spec))
    np.testing.assert_array_equal(reference.predict(expected), hard.argmax(axis=1))
    np.testing.assert_array_equal(expected, hard)


@CHAIN
@given(network=networks("mlp"), seed=st.integers(0, 2 ** 32 - 1))
def test_random_mlp_c_reference_and_torch_agree(network, seed):
    model, shape, spec_draw = network
    check_chain(model, shape, seed, spec_draw=spec_draw)


@settings(CHAIN, max_examples=40)
@given(network=networks("cnn"), seed=st.integers(0, 2 ** 32 - 1))
def test_random_cnn_c_reference_and_torch_agree(network, seed):
    model, shape, spec_draw = network
    check_chain(model, shape, seed, spec_draw=spec_draw)


def test_generated_c_is_clean_with_conversion_and_shadow_warnings():
    # Every kernel once: dense_u8 + dense_bits, then conv_u8 + conv_bits + dense_bits.
    flags = ("-Wconversion", "-Wshadow", "-Wsign-conversion")
    mlp = nn.Sequential(SBLinear(37, 45), nn.BatchNorm1d(45), SBActivation(), SBLinear(45, 5), Scores())
    check_chain(mlp, (37,), 1, extra_flags=flags)
    cnn = nn.Sequential(
        SBConv2d(3, 9, 3, padding=1), nn.BatchNorm2d(9), SBActivation(), nn.MaxPool2d(2),
        SBConv2d(9, 33, 3, stride=2, padding=1), nn.BatchNorm2d(33), SBActivation(),
        nn.Flatten(), SBLinear(33 * 2 * 2, 6), Scores())
    check_chain(cnn, (3, 7, 7), 2, extra_flags=flags)
    # and the integer-input kernels: sbn_input_q, dense_q(_scores), conv_q
    check_chain(mlp, (37,), 3, extra_flags=flags, spec_draw=("int16", False, True))
    check_chain(mlp, (37,), 4, extra_flags=flags, spec_draw=("int8", False, False))
    check_chain(cnn, (3, 7, 7), 5, extra_flags=flags, spec_draw=("int8", True, True))
