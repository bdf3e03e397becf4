"""The planner's choice of kernels within a memory budget (--optimize speed)."""

import numpy as np
import pytest

from sbn_mcu.codegen import plan
from sbn_mcu.codegen.planner import choose
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Dense, Flatten



def mlp():
    """784 -> 64 -> 10 on raw bytes: the first layer can take the subset-sum tables."""
    rng = np.random.default_rng(0)
    signs = lambda shape: np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)
    return FrozenModel((1, 28, 28), [Flatten(), Dense(signs((64, 784)), np.zeros(64, np.int64)),
                                     Dense(signs((10, 64)))])


def test_size_is_the_plan_without_choices():
    model = mlp()
    assert choose(model, "size") == {}
    assert plan(model).steps[0].kernel == "dense_u8"


def test_a_loose_budget_takes_the_tables_whole_with_the_offsets_of_their_entries():
    model = mlp()
    choices = choose(model, "speed", flash_budget=10 ** 6, ram_budget=10 ** 6)
    assert choices == {"0": "offsets:112"}
    assert plan(model, choices).steps[0].kernel == "dense_u8_offsets"


def test_a_flash_budget_short_of_the_offsets_keeps_the_weight_bytes():
    model = mlp()
    offsets = plan(model, {"0": "offsets:112"}).flash_bytes
    sums = plan(model, {"0": "sums:112"}).flash_bytes
    assert offsets > 3 * sums  # four bytes per seven weights, one per seven
    choices = choose(model, "speed", flash_budget=offsets - 1, ram_budget=10 ** 6)
    assert choices == {"0": "sums:112"}
    assert plan(model, choices).steps[0].kernel == "dense_u8_sums"


def test_hidden_binary_layers_compare_mismatch_counts_in_the_same_flash():
    rng = np.random.default_rng(2)
    signs = lambda shape: np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)
    model = FrozenModel((1, 28, 28), [Flatten(), Dense(signs((64, 784)), np.zeros(64, np.int64)),
                                      Dense(signs((32, 64)), np.arange(32) - 16), Dense(signs((10, 32)))])
    choices = choose(model, "speed")
    assert choices["1"] == "m16" and "2" not in choices  # the score layer keeps its kernel
    base, fast = plan(model, {}), plan(model, choices)
    assert fast.steps[1].kernel == "dense_bits_m16"
    assert fast.step_flash_bytes(fast.steps[1]) == base.step_flash_bytes(base.steps[1])


def test_a_tight_ram_budget_builds_the_tables_in_chunks_or_keeps_the_size_kernel():
    model = mlp()
    base = plan(model, {}).ram_bytes
    chunked = choose(model, "speed", ram_budget=base + 4096)
    the_plan = plan(model, chunked)
    assert chunked["0"] != "sums:112" and the_plan.ram_bytes <= base + 4096
    assert choose(model, "speed", ram_budget=base + 100) == {}  # no table fits: the size kernel


def test_a_budget_the_smallest_kernels_exceed_is_refused_with_the_numbers():
    model = mlp()
    flash = plan(model, {}).flash_bytes
    with pytest.raises(SbnError, match=f"{flash:,} B of flash .* budget of 1,000 B"):
        choose(model, "speed", flash_budget=1000)


def cnn():
    """3x3 convolutions 1 -> 8 -> 16 with pooling on raw bytes: the second can take the popcount table."""
    from sbn_mcu.ops import Conv2d, MaxPool2d
    rng = np.random.default_rng(1)
    signs = lambda shape: np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)
    return FrozenModel((1, 12, 12), [Conv2d(signs((8, 1, 3, 3)), np.zeros(8, np.int64), 1, 1), MaxPool2d(2, 2),
                                     Conv2d(signs((16, 8, 3, 3)), np.zeros(16, np.int64), 1, 1), MaxPool2d(2, 2),
                                     Flatten(), Dense(signs((10, 144)))])


def test_the_popcount_table_convolution_only_within_the_flash_budget():
    model = cnn()
    base = plan(model, {}).flash_bytes
    assert choose(model, "speed", flash_budget=base + 65536 + 4096)["1"] == "lut16"
    fast = plan(model, {"1": "lut16"})
    assert fast.steps[1].kernel == "conv_bits_lut" and fast.flash_bytes > base + 65536
    assert "1" not in choose(model, "speed", flash_budget=base + 65535)
