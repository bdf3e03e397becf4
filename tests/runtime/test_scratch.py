"""Every convolution kernel's and integer-input dense kernel's scratch macro against the scratch it really uses.

The driver includes the generated ``NAME.c`` and, through its layer hook,
finds after each layer the highest scratch word the layer wrote: the scratch
is filled with a pattern before each layer, once with each of two patterns,
so that a word the kernel writes is seen whatever value it holds. A layer
that writes past its macro's size, or that leaves the macro's last word
unused on every input, fails; AddressSanitizer catches a write past the
whole buffer.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from sbn_mcu import codegen
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv1d, Conv2d, Dense, Flatten, MaxPool1d, MaxPool2d
from sbn_mcu.toolchain import compile_host

from test_kernel_edges import signs


DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#define SBN_LAYER_HOOK scratch_hook
#include "net.c"

#define SCRATCH ((uint32_t *)(void *)&net_scratch) /* a plain array, or a union for 64-bit sums */

static uint32_t pattern;
static long used[64];

static void fill(void)
{
    size_t i;
    for (i = 0; i < sizeof net_scratch / 4; i++) {
        SCRATCH[i] = pattern;
    }
}

void scratch_hook(uint32_t layer)
{
    long i;
    for (i = (long)(sizeof net_scratch / 4) - 1; i >= 0 && SCRATCH[i] == pattern; i--) {
    }
    if (i + 1 > used[layer]) {
        used[layer] = i + 1;
    }
    fill();
}

int main(void)
{
    static const uint32_t patterns[2] = {0xa5a5a5a5u, 0x5a5a5a5au};
    static net_input_t input[NET_INPUT_SIZE];
    int32_t scores[NET_NUM_CLASSES];
    unsigned p, i, layer;
    for (p = 0; p < 2; p++) {
        pattern = patterns[p];
        for (i = 0; i < INPUTS; i++) {
            unsigned k;
            for (k = 0; k < NET_INPUT_SIZE; k++) {  /* random, all low, all high */
                uint32_t r = (k + 1u) * 2654435761u ^ (i * 40503u);
                input[k] = (net_input_t)(i == 1 ? 0 : i == 2 ? -1 : (int)(r >> 13));
            }
            fill();
            net_infer(input, scores);
        }
    }
    for (layer = 0; layer < LAYERS; layer++) {
        printf("%ld\n", used[layer]);
    }
    return 0;
}
"""


def conv2d(rng, c, out_c, k, pad=(1, 1), stride=(1, 1)):
    return Conv2d(signs(rng, (out_c, c, *k)), rng.integers(-4, 5, out_c), stride, pad)


def conv1d(rng, c, out_c, k, pad=1, stride=1):
    return Conv1d(signs(rng, (out_c, c, k)), rng.integers(-4, 5, out_c), stride, pad)


# name, input spec, layers: one of each conv kernel, with and without pooling, odd channel counts
CASES = [
    ("conv_u8", (1, 9, 11), lambda r: [conv2d(r, 1, 5, (3, 3)), MaxPool2d((2, 2), (2, 2)),
                                        conv2d(r, 5, 7, (3, 3))]),
    ("conv_u8_channels", (3, 7, 6), lambda r: [conv2d(r, 3, 33, (2, 3), (0, 1), (1, 2))]),
    ("conv_bits", (1, 8, 8), lambda r: [conv2d(r, 1, 40, (3, 3)), conv2d(r, 40, 9, (3, 3)),
                                         MaxPool2d((2, 2), (2, 2))]),
    ("conv_bits_rect", (2, 6, 9), lambda r: [conv2d(r, 2, 3, (1, 1), (0, 0)), conv2d(r, 3, 35, (1, 4), (0, 2)),
                                              MaxPool2d((1, 3), (1, 3))]),
    ("conv_q", InputSpec((2, 7, 9), "int8"), lambda r: [conv2d(r, 2, 6, (3, 3)), MaxPool2d((2, 2), (2, 2))]),
    ("conv_q_1d", InputSpec((3, 17), "int16", "cl"), lambda r: [conv1d(r, 3, 4, 5, 2), MaxPool1d(3, 3),
                                                         conv1d(r, 4, 34, 3)]),
]


def scratch_used(model: FrozenModel, steps: int, tmp_path) -> list[int]:
    for file, text in codegen.model_sources(model, "net").items():
        (tmp_path / file).write_text(text)
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = compile_host([driver], tmp_path / "driver", include_dirs=[tmp_path],
                       extra_flags=("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                    "-Wno-missing-prototypes", "-DINPUTS=6u", f"-DLAYERS={steps}u"))
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return [int(line) for line in run.stdout.split()]


@pytest.mark.parametrize("name,spec,make", CASES, ids=[c[0] for c in CASES])
def test_each_convolution_uses_exactly_its_scratch_macro(name, spec, make, tmp_path):
    rng = np.random.default_rng(sum(map(ord, name)))
    layers = [*make(rng), Flatten()]
    flat = FrozenModel(spec, layers).shapes()[-1][0]
    model = FrozenModel(spec, [*layers, Dense(signs(rng, (3, flat)))])
    steps = codegen.plan(model).steps
    used = scratch_used(model, len(steps), tmp_path)
    claimed = {step.index: step.scratch_words for step in steps}
    kernels = [step.kernel for step in steps if step.scratch_words]
    assert kernels, "the case has no kernel with scratch"
    for step in steps:
        assert used[step.index] <= claimed[step.index], (step.kernel, used[step.index], claimed[step.index])
        if step.geometry and (step.geometry[1]["pad_h"] or step.geometry[1]["pad_w"]):  # without padding, conv_u8 needs no words for the border sums
            assert used[step.index] == claimed[step.index], (step.kernel, used[step.index], claimed[step.index])


# the faster convolutions of --optimize speed: the popcount table's windows laid out flat per conv row,
# and the first 3x3 convolution's padded bytes
FAST_CASES = [case for case in CASES if case[0].startswith("conv_bits")] + [
    ("conv_bits_lut_3x3", (1, 9, 7), lambda r: [conv2d(r, 1, 32, (3, 3)), conv2d(r, 32, 33, (3, 3), (1, 1), (2, 1)),
                                                 MaxPool2d((2, 2), (1, 1))]),
    ("conv_u8_3x3", (1, 9, 11), lambda r: [conv2d(r, 1, 5, (3, 3), (2, 1), (1, 2)), MaxPool2d((2, 2), (2, 2))]),
    ("conv_u8_3x3_valid", (1, 6, 9), lambda r: [conv2d(r, 1, 37, (3, 3), (0, 0))]),
]


@pytest.mark.parametrize("name,spec,make", FAST_CASES, ids=[c[0] for c in FAST_CASES])
def test_the_faster_convolutions_use_exactly_their_scratch_macros(name, spec, make, tmp_path):
    rng = np.random.default_rng(sum(map(ord, name)))
    layers = [*make(rng), Flatten()]
    flat = FrozenModel(spec, layers).shapes()[-1][0]
    model = FrozenModel(spec, [*layers, Dense(signs(rng, (3, flat)))])
    model.meta["kernels"] = {str(index): names[0] for index, names in codegen.plan(model).options.items()}
    steps = codegen.plan(model).steps
    used = scratch_used(model, len(steps), tmp_path)
    fast = [step for step in steps if step.choice]
    assert fast
    for step in fast:  # every word, the padded copies included (unpadded too: they fill whole rows)
        assert used[step.index] == step.scratch_words, (step.kernel, used[step.index], step.scratch_words)


# the dense layers on int8/int16 input: a word of inputs' tables and a block's sums, fewer than 32
# inputs and outputs, more than one block, a score layer, and 64-bit sums (int16 input with q = 127 r,
# 600 inputs: sums past 2^31, so the 64-bit copies)
DENSE_CASES = [
    ("dense_q", InputSpec((70,), "int8", "flat"), lambda r: [Dense(signs(r, (37, 70)), r.integers(-9, 10, 37))]),
    ("dense_q_small", InputSpec((13,), "int16", "flat"), lambda r: [Dense(signs(r, (5, 13)), r.integers(-9, 10, 5))]),
    ("dense_q_scores", InputSpec((2, 3, 7), "int8"), lambda r: [Flatten(), Dense(signs(r, (33, 42)))]),
    ("dense_q_wide", InputSpec((1, 600), "int16", "cl", "per-channel", (127,), (0,), 1 << 22),
     lambda r: [Flatten(), Dense(signs(r, (40, 600)), np.zeros(40, np.int64))]),
]


@pytest.mark.parametrize("name,spec,make", DENSE_CASES, ids=[c[0] for c in DENSE_CASES])
def test_the_integer_dense_layers_use_exactly_their_scratch_macros(name, spec, make, tmp_path):
    rng = np.random.default_rng(sum(map(ord, name)))
    layers = make(rng)
    if layers[-1].thresholds is not None:  # a binary score layer after it
        layers.append(Dense(signs(rng, (3, layers[-1].weights.shape[0]))))
    model = FrozenModel(spec, layers)
    the_plan = codegen.plan(model)
    assert the_plan.wide == name.endswith("wide")
    steps = the_plan.steps
    used = scratch_used(model, len(steps), tmp_path)
    assert steps[0].kernel == ("dense_q_scores" if "scores" in name else "dense_q")
    for step in steps:
        assert used[step.index] == step.scratch_words, (step.kernel, used[step.index], step.scratch_words)
