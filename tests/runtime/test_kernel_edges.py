"""Every kernel variant at the edge of its comparison, on host gcc and in QEMU (M0: the
portable C; M4: the DSP paths; M55: Helium), one test of each for all (VARIANTS).

Frozen models are built straight from ops with random ±1 weights; each
thresholded layer's thresholds are then set from the sums that the first
input really produces there: exactly at the sum, one below and one above, and
a few far away (outputs that are always or never +1). Sizes are chosen to
leave partial words, partial bytes, odd output counts and border positions.
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np
import pytest

from support import host_scores
from sbn_mcu import codegen
from sbn_mcu.ir import reference
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv2d, Dense, Flatten, MaxPool2d
from sbn_mcu.verify import golden

N_INPUTS = 6


def signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)


def edge_thresholds(rng, acc: np.ndarray, bound: int) -> np.ndarray:
    """Per output channel: the first input's sum at one position (acc: channel first) plus -1, 0 or +1,
    or, as freeze clips them, a threshold no sum reaches (bound + 1) or every sum does (-bound).
    With bound None, those two are far outside any sum, as no freeze writes them."""
    flat = acc.reshape(acc.shape[0], -1)
    picked = flat[np.arange(len(flat)), rng.integers(0, flat.shape[1], len(flat))]
    offsets = np.array([0, -1, 1, 0, -1, 1, 0, 0])[np.arange(len(flat)) % 8]
    far = 10 ** 6 if bound is None else None
    thresholds = picked + offsets
    thresholds[6::8] = far if far else bound + 1
    thresholds[7::8] = -far if far else -bound
    return thresholds.astype(np.int64)


def with_edges(layers, input_shape, pixels, rng, clip=True) -> FrozenModel:
    """The model with each thresholded layer's thresholds at the edges of the first input's sums."""
    model = FrozenModel(input_shape, layers)
    x = model.spec.integers(pixels[:1])
    largest = 255
    for layer in layers:
        acc = layer.reference(x)
        if layer.thresholds is not None or isinstance(layer, (Dense, Conv2d)) and layer is not layers[-1]:
            bound = int(np.prod(layer.weights.shape[1:])) * largest
            layer.thresholds = edge_thresholds(rng, acc[0], bound if clip else None)
            largest = 1
            x = np.where(acc >= layer.thresholds.reshape((1, -1) + (1,) * (acc.ndim - 2)), 1, -1)
        else:
            x = acc
    return model


def dense_mlp(rng, n, hidden, second, classes):
    return [Flatten(), Dense(signs(rng, (hidden, n))), Dense(signs(rng, (second, hidden))),
            Dense(signs(rng, (classes, second)))]


def conv_net(rng, c, out_c, k, pad, stride, pool, out2):
    layers = [Conv2d(signs(rng, (out_c, c, *k)), None, stride, pad)]
    if pool:
        layers.append(MaxPool2d(pool, pool))
    layers += [Conv2d(signs(rng, (out2, out_c, 3, 3)), None, (1, 1), (1, 1)), Flatten()]
    return layers


# name, input shape (C, H, W), layers from a generator
CASES = [
    ("mlp_784_256", (1, 28, 28), lambda r: dense_mlp(r, 784, 256, 256, 10)),  # the demo's shape
    ("mlp_odd", (1, 7, 9), lambda r: dense_mlp(r, 63, 45, 33, 5)),  # 7 pixels past the last byte
    ("mlp_bytes", (1, 5, 8), lambda r: dense_mlp(r, 40, 3, 17, 3)),  # a partial word of whole bytes
    ("mlp_tiny", (1, 1, 7), lambda r: dense_mlp(r, 7, 1, 1, 2)),  # no whole group of eight
    ("mlp_wide_rows", (1, 20, 30), lambda r: dense_mlp(r, 600, 290, 544, 4)),  # 10 and 17 words a row
    ("cnn_3x3", (1, 12, 10), lambda r: conv_net(r, 1, 32, (3, 3), (1, 1), (1, 1), (2, 2), 33)),
    ("cnn_odd", (3, 9, 11), lambda r: conv_net(r, 3, 37, (3, 3), (1, 1), (1, 1), (2, 2), 9)),
    ("cnn_5x5_stride", (1, 13, 12), lambda r: conv_net(r, 1, 5, (5, 5), (2, 2), (2, 2), None, 7)),
    ("cnn_rect", (2, 8, 9), lambda r: conv_net(r, 2, 12, (1, 4), (0, 2), (1, 1), (1, 3), 4)),
    ("cnn_2x2", (1, 6, 6), lambda r: conv_net(r, 1, 3, (2, 2), (0, 0), (1, 1), (2, 2), 5)),
]


# the subset-sum kernel of a first dense layer (--optimize speed): tables built `chunk` groups of seven
# pixels at a time, so one pass, several, an uneven last one, and a group of fewer than seven pixels
SPEED_CASES = [("mlp_784_256", 28), ("mlp_784_256", 15), ("mlp_odd", 9), ("mlp_odd", 4), ("mlp_bytes", 1), ("mlp_tiny", 1),
               ("mlp_wide_rows", 13)]
# the binary layers that compare mismatch counts (sbn_dense_bits_m16, --optimize speed): rows of eight
# words (the assembly on DSP cores) with a partial output word after whole ones, and other row lengths
M16_CASES = [("mlp_784_256", {"1": "m16"}), ("mlp_hidden_256", {"1": "m16"}), ("mlp_odd", {"1": "m16"}),
             ("mlp_wide_rows", {"0": "sums:13", "1": "m16"}), ("mlp_tiny", {"1": "m16"})]
# the offsets kernel of a first dense layer (--optimize speed, "offsets:C"): tables in chunks (the whole 784 -> 256
# ones pass the micro:bit's RAM) of whole passes of fourteen lookups, padded ones, a partial group, with the
# mismatch-count kernel after it
OFFSETS_CASES = [("mlp_784_256", {"0": "offsets:38", "1": "m16"}), ("mlp_784_256", {"0": "offsets:28"}),
                 ("mlp_784_256", {"0": "offsets:15"}), ("mlp_odd", {"0": "offsets:9"}), ("mlp_odd", {"0": "offsets:4"}),
                 ("mlp_bytes", {"0": "offsets:1"}), ("mlp_tiny", {"0": "offsets:1"}),
                 ("mlp_wide_rows", {"0": "offsets:13", "1": "m16"})]
BY_NAME = {case[0]: case for case in CASES}
BY_NAME["mlp_hidden_256"] = ("mlp_hidden_256", (1, 5, 8), lambda r: dense_mlp(r, 40, 256, 45, 3))


def build(name, shape, make):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    layers = make(rng)
    pixels = rng.integers(0, 256, (N_INPUTS, int(np.prod(shape)))).astype(np.uint8)
    pixels[1] = 0
    pixels[2] = 255
    pixels[3] = np.where(np.arange(pixels.shape[1]) % 2, 255, 0)
    layers = [layer for layer in layers if layer is not None]
    if layers[-1].__class__ is Flatten:  # conv nets end with a score layer over the flattened map
        model = FrozenModel(shape, layers)
        flat = model.shapes()[-1][0]
        layers.append(Dense(signs(rng, (4, flat))))
    model = with_edges(layers, shape, pixels, rng, clip=name != "mlp_odd")  # mlp_odd: int32 thresholds
    return model, pixels, reference.run(model, pixels)


def speed_build(name, chunk):
    model, pixels, expected = build(*BY_NAME[name])
    model.meta["kernels"] = {"0": f"sums:{chunk}"}
    assert codegen.plan(model).steps[0].kernel == "dense_u8_sums"
    return model, pixels, expected


def binary_conv_net(rng, c, first, k, pad, stride, pool, out2):
    """A 3x3 first convolution to `first` channels, then the binary convolution under test."""
    layers = [Conv2d(signs(rng, (first, c, 3, 3)), None, (1, 1), (1, 1)),
              Conv2d(signs(rng, (out2, first, *k)), None, stride, pad)]
    if pool:
        layers.append(MaxPool2d(*pool))
    return layers + [Flatten()]


# the popcount-table binary convolution (--optimize speed, "lut16"): the 3x3 one-word windows of the
# assembly (Thumb-2) with partial output words, strides and border cases, and the portable loop for
# every other shape: two input words, rectangular kernels, wide padding, uneven pools; on the M55 windows
# of 9 words (its assembly) and of 25, 8, 6, 18 and 7 (1, 4, 2, 2 and 3 words under the tail predicate)
LUT_CASES = [
    *CASES[5:],
    ("lut_3x3_pool", (1, 10, 12), lambda r: binary_conv_net(r, 1, 32, (3, 3), (1, 1), (1, 1), ((2, 2), (2, 2)), 40)),
    ("lut_3x3_stride", (1, 11, 9), lambda r: binary_conv_net(r, 1, 7, (3, 3), (0, 0), (2, 1), ((2, 1), (1, 1)), 33)),
    ("lut_3x3_pad2", (2, 7, 8), lambda r: binary_conv_net(r, 2, 3, (3, 3), (2, 1), (1, 2), ((3, 3), (3, 3)), 31)),
    ("lut_5x5_pad2", (2, 9, 8), lambda r: binary_conv_net(r, 2, 12, (5, 5), (2, 2), (1, 1), ((3, 2), (2, 3)), 5)),
    ("lut_rect_words", (1, 6, 9), lambda r: binary_conv_net(r, 1, 40, (1, 4), (0, 2), (1, 2), None, 9)),
    ("lut_3x1", (3, 8, 5), lambda r: binary_conv_net(r, 3, 64, (3, 1), (1, 0), (1, 1), ((2, 2), (1, 1)), 65)),
    ("lut_7x1", (2, 9, 4), lambda r: binary_conv_net(r, 2, 20, (7, 1), (3, 0), (1, 1), ((2, 2), (2, 1)), 3)),
]


def lut_build(name, shape, make):
    model, pixels, expected = build(name, shape, make)
    steps = codegen.plan(model).steps
    model.meta["kernels"] = {str(s.index): "lut16" for s in steps if s.kernel == "conv_bits"}
    assert [s.kernel for s in codegen.plan(model).steps].count("conv_bits_lut") == len(model.meta["kernels"]) > 0
    return model, pixels, expected


def chosen_build(name, kernels):
    model, pixels, expected = build(*BY_NAME[name])
    model.meta["kernels"] = kernels
    assert [s.choice for s in codegen.plan(model).steps if s.choice] == [k for k in kernels.values() if k]
    return model, pixels, expected


def first_conv_net(rng, out_c, pad, stride, pool, out2):
    """The first 3x3 convolution over one channel of raw bytes, then a binary 3x3 one."""
    layers = [Conv2d(signs(rng, (out_c, 1, 3, 3)), None, stride, pad)]
    if pool:
        layers.append(MaxPool2d(*pool))
    return layers + [Conv2d(signs(rng, (out2, out_c, 3, 3)), None, (1, 1), (1, 1)), Flatten()]


# every faster kernel the planner can choose for a convolution (--optimize speed): the first 3x3 one over
# raw bytes with thresholds per border case (sixteen channels a pass and single ones, strides, padding wider
# than the kernel's reach, rows narrower than a word, overlapping pools), and the popcount table after it
FIRST_CONV_CASES = [
    CASES[5],
    ("u8_3x3_stride2", (1, 9, 11), lambda r: first_conv_net(r, 37, (1, 1), (2, 2), None, 6)),
    ("u8_3x3_valid", (1, 7, 6), lambda r: first_conv_net(r, 5, (0, 0), (1, 1), ((2, 2), (1, 1)), 3)),
    ("u8_3x3_pad2", (1, 5, 4), lambda r: first_conv_net(r, 17, (2, 2), (1, 2), ((3, 1), (2, 1)), 33)),
    ("u8_3x3_narrow", (1, 6, 2), lambda r: first_conv_net(r, 64, (1, 1), (1, 1), None, 2)),
    ("u8_3x3_wide_pad", (1, 3, 3), lambda r: first_conv_net(r, 33, (2, 3), (2, 1), ((2, 2), (2, 2)), 65)),
]


# the smallest first convolution (sbn_conv_u8) at every column case of the DSP path's one-word row load
# of a 3x3 kernel over one channel (rows of exactly four and five bytes, padding of one and two, strides,
# the last columns read from before their start), partial output words, the single-channel tails of its
# loops and overlapping pools; the binary convolution after it patches padded taps of one and two words
SMALLEST_FIRST_CONV_CASES = [
    ("w4_pad1", (1, 5, 4), lambda r: first_conv_net(r, 32, (1, 1), (1, 1), ((2, 2), (2, 2)), 9)),
    ("w5_pad2_stride", (1, 7, 5), lambda r: first_conv_net(r, 37, (2, 2), (1, 2), ((2, 1), (1, 1)), 33)),
    ("w6_pad2", (1, 6, 6), lambda r: first_conv_net(r, 5, (2, 2), (1, 1), ((3, 3), (2, 2)), 7)),
    ("w9_stride2", (1, 9, 9), lambda r: first_conv_net(r, 67, (1, 1), (2, 2), None, 3)),
    ("w7_valid", (1, 7, 7), lambda r: first_conv_net(r, 18, (0, 0), (1, 1), ((2, 2), (1, 1)), 40)),
    ("w8_pad_rows", (1, 4, 8), lambda r: first_conv_net(r, 3, (2, 1), (1, 1), ((1, 3), (1, 2)), 2)),
]


def smallest_first_conv_build(name, shape, make):
    model, pixels, expected = build(name, shape, make)
    assert [s.kernel for s in codegen.plan(model).steps][:2] == ["conv_u8", "conv_bits"]
    return model, pixels, expected


def fastest_build(name, shape, make):
    model, pixels, expected = build(name, shape, make)
    options = codegen.plan(model).options
    model.meta["kernels"] = {str(index): names[0] for index, names in options.items()}
    assert [s.kernel for s in codegen.plan(model).steps][:2] == ["conv_u8_3x3", "conv_bits_lut"]
    return model, pixels, expected


# Every kernel variant: an id, what builds its (model, pixels, expected), and the cores beyond the M0
# (portable C), the M4 (DSP) and the M55 (Helium) that it must pass on.
QEMU_CORES = ("cortex-m0", "cortex-m4", "cortex-m55")
VARIANTS = [
    *[(f"smallest-{c[0]}", partial(build, *c), ()) for c in CASES],
    *[(f"sums{chunk}-{name}", partial(speed_build, name, chunk), ()) for name, chunk in SPEED_CASES],
    *[(f"lut-{c[0]}", partial(lut_build, *c), ()) for c in LUT_CASES],
    *[(f"{'-'.join(k for k in kernels.values() if k) or 'none'}-{name}-{i}", partial(chosen_build, name, kernels),
       ("cortex-m7",))  # the M7: gcc's loop checks, which once failed the m16 build
      for i, (name, kernels) in enumerate(M16_CASES + OFFSETS_CASES)],
    *[(f"fastest-{c[0]}", partial(fastest_build, *c), ()) for c in FIRST_CONV_CASES],
    *[(f"smallest-{c[0]}", partial(smallest_first_conv_build, *c), ()) for c in SMALLEST_FIRST_CONV_CASES],
]
BUILDS = {name: make for name, make, _ in VARIANTS}
assert len(BUILDS) == len(VARIANTS), "two variants share an id"


@pytest.mark.parametrize("variant", list(BUILDS))
def test_every_kernel_variant_at_the_threshold_on_host(variant):
    model, pixels, expected = BUILDS[variant]()
    np.testing.assert_array_equal(host_scores(model, pixels), expected)


@pytest.mark.cross
@pytest.mark.parametrize("variant,core", [(name, core) for name, _, extra in VARIANTS for core in (*QEMU_CORES, *extra)])
def test_every_kernel_variant_at_the_threshold_in_qemu(variant, core, tmp_path):
    model, pixels, expected = BUILDS[variant]()
    for file, text in codegen.model_sources(model, "net").items():
        (tmp_path / file).write_text(text)
    result = golden.run_golden(core, [tmp_path / "net.c"], [tmp_path], "net", pixels, expected, tmp_path / "build")
    assert result.mismatches == 0, result.log
