"""Random architectures through the whole chain: torch hard mode, freeze, the
numpy reference and the generated C compiled with the host gcc.

Each example compiles once and runs a batch of inputs, so the number of
examples is kept small; the draws are derandomized, so CI sees the same ones.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from conftest import as_int_scores, host_scores, randomize, torch_scores
from sbn_mcu.ir import input_spec, reference
from sbn_mcu.training.freeze import freeze
from sbn_mcu.training.layers import SBActivation, SBConv1d, SBConv2d, SBLinear, Scores

CHAIN = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
N_INPUTS = 20


def random_inputs(rng: np.random.Generator, spec) -> np.ndarray:
    """Random raw values of the spec's type and layout, plus its extremes and a checkerboard of them."""
    lo, hi = spec.range
    shape = spec.stored_shape
    x = rng.integers(lo, hi + 1, size=(N_INPUTS,) + shape).astype(spec.numpy_dtype)
    x[0], x[1] = lo, hi
    x[2] = np.where(np.indices(shape).sum(axis=0) % 2, hi, lo)
    return x


def random_spec(rng: np.random.Generator, shape: tuple, dtype: str, channels_last: bool, per_channel: bool):
    """A spec for ``shape``; per-channel statistics learned on random data of uneven channels."""
    layout = input_spec.layout_for(len(shape))
    if channels_last and layout == "chw":
        layout = "hwc"
    spec = input_spec.InputSpec(shape, dtype, layout)
    if not per_channel:
        return spec
    lo, hi = spec.range
    x = random_inputs(rng, spec).astype(np.float64)
    centre = rng.uniform(lo, hi, size=spec.channels)
    spread = rng.uniform(0.05, 1.0, size=spec.channels)
    x = spec.to_model_order(x)
    view = (1, spec.channels) + (1,) * (x.ndim - 2)
    x = np.clip(centre.reshape(view) + (x - (lo + hi) / 2) * spread.reshape(view), lo, hi)
    if layout == "hwc":
        x = x.transpose(0, 2, 3, 1)
    return input_spec.fit(np.round(x).astype(spec.numpy_dtype), dtype, layout, "per-channel", ())


specs = st.tuples(st.sampled_from(list(input_spec.TYPES)), st.booleans(), st.booleans())


def check_chain(model: nn.Sequential, input_shape: tuple, seed: int, extra_flags=(), spec_draw=None) -> None:
    rng = np.random.default_rng(seed)
    spec = random_spec(rng, input_shape, *spec_draw) if spec_draw else input_spec.as_spec(input_shape)
    randomize(model, rng)
    fm = freeze(model, spec)
    pixels = random_inputs(rng, spec)
    expected = reference.run(fm, pixels)
    got = host_scores(fm, pixels, extra_flags=extra_flags)
    bad = np.flatnonzero((got != expected).any(axis=1))
    assert bad.size == 0, f"C differs from the reference on inputs {bad.tolist()}:\n{got[bad]}\n{expected[bad]}"
    hard = as_int_scores(torch_scores(model, pixels, spec))
    np.testing.assert_array_equal(reference.predict(expected), hard.argmax(axis=1))
    np.testing.assert_array_equal(expected, hard)


def conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


@st.composite
def mlps(draw):
    hidden = draw(st.lists(st.integers(1, 300), min_size=1, max_size=2))
    classes = draw(st.integers(2, 12))
    if draw(st.booleans()):
        n_in = draw(st.integers(1, 300))
        shape, layers = (n_in,), []
    else:  # an image flattened in torch's C, H, W order
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)))
        n_in, layers = int(np.prod(shape)), [nn.Flatten()]
    for a, b in zip([n_in] + hidden, hidden):
        layers += [SBLinear(a, b), nn.BatchNorm1d(b), SBActivation()]
        if draw(st.booleans()):  # trains, and is gone at freeze
            layers.append(nn.Dropout(0.3))
    layers += [SBLinear(hidden[-1], classes)]
    if draw(st.booleans()):
        layers.append(Scores())
    return nn.Sequential(*layers), shape


@st.composite
def cnns(draw):
    """2-D (square or rectangular kernels, strides and padding per axis) or 1-D convolutions."""
    one_d = draw(st.booleans())
    c = draw(st.integers(1, 5))
    h = 1 if one_d else draw(st.integers(2, 7)) * 2 + 1  # odd sizes 5..15
    w = draw(st.integers(2, 7)) * 2 + 1 if not one_d else draw(st.integers(5, 40))
    layers: list[nn.Module] = []
    size_h, size_w, channels = h, w, c
    for _ in range(draw(st.integers(1, 2))):
        out_c = draw(st.integers(1, 70))
        kh, kw = (1 if one_d else draw(st.sampled_from([1, 3, 5]))), draw(st.sampled_from([1, 2, 3, 5]))
        sh, sw = (1 if one_d else draw(st.sampled_from([1, 2]))), draw(st.sampled_from([1, 2]))
        # pad may exceed k (k=1, pad=2): windows wholly in the padding count nothing
        ph, pw = (0 if one_d else draw(st.integers(0, 2))), draw(st.integers(0, 2))
        size_h, size_w = conv_out(size_h, kh, sh, ph), conv_out(size_w, kw, sw, pw)
        assume(size_h >= 1 and size_w >= 1)
        if one_d:
            layers += [SBConv1d(channels, out_c, kw, stride=sw, padding=pw), nn.BatchNorm1d(out_c)]
        else:
            layers += [SBConv2d(channels, out_c, (kh, kw), stride=(sh, sw), padding=(ph, pw)), nn.BatchNorm2d(out_c)]
        layers.append(SBActivation())
        pool_h, pool_w = (1 if one_d else draw(st.sampled_from([1, 2, 3]))), draw(st.sampled_from([1, 2, 3]))
        if draw(st.booleans()) and pool_h * pool_w > 1 and size_h >= pool_h and size_w >= pool_w:
            layers.append(nn.MaxPool1d(pool_w) if one_d else nn.MaxPool2d((pool_h, pool_w)))
            size_h, size_w = size_h // pool_h, size_w // pool_w
        channels = out_c
    flat = channels * size_h * size_w
    assume(flat <= 4000)
    layers.append(nn.Flatten())
    classes = draw(st.integers(2, 12))
    if draw(st.booleans()):  # a hidden dense layer on the flattened bits
        hidden = draw(st.integers(1, 70))
        layers += [SBLinear(flat, hidden), nn.BatchNorm1d(hidden), SBActivation()]
        flat = hidden
    layers += [SBLinear(flat, classes), Scores()]
    return nn.Sequential(*layers), (c, w) if one_d else (c, h, w)


@CHAIN
@given(arch=mlps(), seed=st.integers(0, 2 ** 32 - 1), spec_draw=specs)
def test_random_mlp_c_reference_and_torch_agree(arch, seed, spec_draw):
    model, shape = arch
    check_chain(model, shape, seed, spec_draw=spec_draw)


@settings(CHAIN, max_examples=40)
@given(arch=cnns(), seed=st.integers(0, 2 ** 32 - 1), spec_draw=specs)
def test_random_cnn_c_reference_and_torch_agree(arch, seed, spec_draw):
    model, shape = arch
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
