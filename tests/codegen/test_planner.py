"""The planner's choice of kernels within a memory budget (--optimize speed)."""

import numpy as np
import pytest

from sbn_mcu.codegen import plan
from sbn_mcu.codegen.planner import choose
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Dense, Flatten

pytestmark = pytest.mark.unit


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


def test_a_loose_budget_takes_the_tables_whole():
    model = mlp()
    choices = choose(model, "speed", flash_budget=10 ** 6, ram_budget=10 ** 6)
    assert choices == {"0": "sums:112"}
    assert plan(model, choices).steps[0].kernel == "dense_u8_sums"


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
