"""Tests for sbn_mcu.ops.packing: the bit layout the C uses for ±1 tensors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbn_mcu.ops.packing import pack, unpack, words_for

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def expected_words(values: np.ndarray) -> list[int]:
    """Pack one (positions, channels) array bit by bit with Python ints."""
    positions, channels = values.shape
    per = (channels + 31) // 32
    out = []
    for p in range(positions):
        for k in range(per):
            word = 0
            for bit in range(32):
                c = 32 * k + bit
                if c < channels and values[p, c] == 1:
                    word |= 1 << bit
            out.append(word)
    return out


def random_pm1(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


@pytest.mark.parametrize("channels", range(1, 101))
def test_words_for_is_ceiling_of_channels_over_32(channels):
    assert words_for(channels) * 32 >= channels > (words_for(channels) - 1) * 32


@pytest.mark.parametrize("channels", range(1, 101))
@pytest.mark.parametrize("positions", [1, 2, 5])
def test_pack_matches_bitwise_layout_and_round_trips(channels, positions):
    rng = np.random.default_rng(1000 * channels + positions)
    values = random_pm1(rng, (positions, channels))
    packed = pack(values)
    assert packed.dtype == np.uint32
    assert packed.shape == (positions * words_for(channels),)
    assert [int(w) for w in packed] == expected_words(values)
    restored = unpack(packed, positions, channels)
    assert restored.dtype == np.int8
    assert restored.shape == (positions, channels)
    np.testing.assert_array_equal(restored, values)


@pytest.mark.parametrize("channels", [c for c in range(1, 101) if c % 32])
def test_padding_bits_are_zero(channels):
    positions = 3
    values = np.ones((positions, channels), dtype=np.int8)  # every real bit set
    packed = pack(values).reshape(positions, words_for(channels))
    tail_bits = channels % 32
    full = (1 << 32) - 1
    for p in range(positions):
        assert all(int(w) == full for w in packed[p, :-1])
        assert int(packed[p, -1]) == (1 << tail_bits) - 1  # bits past C are 0


@pytest.mark.parametrize("channels", [1, 31, 32, 33, 64, 65, 100])
def test_all_minus_one_packs_to_zero_words(channels):
    packed = pack(-np.ones((4, channels), dtype=np.int8))
    assert not packed.any()


@pytest.mark.parametrize("channels", [1, 7, 32, 33, 95])
def test_leading_dimensions_are_kept(channels):
    rng = np.random.default_rng(channels)
    values = random_pm1(rng, (2, 3, 4, channels))
    packed = pack(values)
    per = words_for(channels)
    assert packed.shape == (2, 3, 4 * per)
    for i in range(2):
        for j in range(3):
            assert [int(w) for w in packed[i, j]] == expected_words(values[i, j])
    np.testing.assert_array_equal(unpack(packed, 4, channels), values)


def test_each_channel_is_its_own_bit():
    # Channel c alone at +1 sets exactly bit c % 32 of word c // 32.
    channels = 100
    for c in range(channels):
        values = -np.ones((1, channels), dtype=np.int8)
        values[0, c] = 1
        packed = pack(values)
        ones = [(k, b) for k, w in enumerate(packed) for b in range(32) if int(w) >> b & 1]
        assert ones == [(c // 32, c % 32)]


@PROPERTY
@given(n=st.integers(1, 300), seed=st.integers(0, 2 ** 32 - 1))
def test_dot_product_is_n_minus_twice_mismatches(n, seed):
    rng = np.random.default_rng(seed)
    a, b = random_pm1(rng, (1, n)), random_pm1(rng, (1, n))
    dot = int(np.sum(a.astype(np.int64) * b.astype(np.int64)))
    mismatches = sum(bin(int(w)).count("1") for w in pack(a) ^ pack(b))
    assert dot == n - 2 * mismatches


@PROPERTY
@given(n=st.integers(1, 300), positions=st.integers(1, 4), seed=st.integers(0, 2 ** 32 - 1))
def test_round_trip_any_width(n, positions, seed):
    values = random_pm1(np.random.default_rng(seed), (positions, n))
    np.testing.assert_array_equal(unpack(pack(values), positions, n), values)
