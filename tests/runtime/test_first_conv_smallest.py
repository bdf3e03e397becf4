"""The smallest first convolution (sbn_conv_u8, --optimize size) at the edges of its comparison.

On cores with the DSP extension a 3x3 convolution over one channel takes its own path: each row's
three bytes from one word load at the nearest start inside the row, shifted by the columns it is off,
and the padded bytes folded into the border sums. These cases reach every column case of that load
(rows of exactly four and five bytes, padding of one and two, strides, the last columns read from
before their start), channel counts with partial words and the single-channel tails of its loops,
and overlapping pools; the binary convolution after it patches padded taps of one and two words.
They run on the host (portable C), the M0 (portable C in QEMU) and the M4 (the DSP path).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from support import host_scores
from sbn_mcu import codegen
from sbn_mcu.verify import golden

from test_kernel_edges import build, first_conv_net

CASES = [
    ("w4_pad1", (1, 5, 4), lambda r: first_conv_net(r, 32, (1, 1), (1, 1), ((2, 2), (2, 2)), 9)),
    ("w5_pad2_stride", (1, 7, 5), lambda r: first_conv_net(r, 37, (2, 2), (1, 2), ((2, 1), (1, 1)), 33)),
    ("w6_pad2", (1, 6, 6), lambda r: first_conv_net(r, 5, (2, 2), (1, 1), ((3, 3), (2, 2)), 7)),
    ("w9_stride2", (1, 9, 9), lambda r: first_conv_net(r, 67, (1, 1), (2, 2), None, 3)),
    ("w7_valid", (1, 7, 7), lambda r: first_conv_net(r, 18, (0, 0), (1, 1), ((2, 2), (1, 1)), 40)),
    ("w8_pad_rows", (1, 4, 8), lambda r: first_conv_net(r, 3, (2, 1), (1, 1), ((1, 3), (1, 2)), 2)),
]
BUILDS = {name: partial(build, name, shape, make) for name, shape, make in CASES}


def smallest(name):
    model, pixels, expected = BUILDS[name]()
    assert [s.kernel for s in codegen.plan(model).steps][:2] == ["conv_u8", "conv_bits"]
    return model, pixels, expected


@pytest.mark.parametrize("name", list(BUILDS))
def test_smallest_first_convolution_on_host(name):
    model, pixels, expected = smallest(name)
    np.testing.assert_array_equal(host_scores(model, pixels), expected)


@pytest.mark.cross
@pytest.mark.parametrize("name,core", [(name, core) for name in BUILDS for core in ("cortex-m0", "cortex-m4")])
def test_smallest_first_convolution_in_qemu(name, core, tmp_path):
    model, pixels, expected = smallest(name)
    for file, text in codegen.model_sources(model, "net").items():
        (tmp_path / file).write_text(text)
    result = golden.run_golden(core, [tmp_path / "net.c"], [tmp_path], "net", pixels, expected, tmp_path / "build")
    assert result.mismatches == 0, result.log
