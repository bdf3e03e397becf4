"""Bit packing of ±1 tensors into uint32 words, the layout the C uses.

A binary tensor in C is a sequence of positions (pixels, or one position for a
vector), each holding ``C`` channels in ``ceil(C / 32)`` words: channel ``c``
is bit ``c % 32`` of word ``c // 32``, and ``+1`` is bit 1. Bits past ``C``
are 0 on both sides of an XOR, so they never count as mismatches.
"""

from __future__ import annotations

import numpy as np


def words_for(channels: int) -> int:
    """uint32 words that hold ``channels`` bits.

    >>> words_for(1), words_for(32), words_for(33)
    (1, 1, 2)
    """
    return -(-channels // 32)


def pack(values: np.ndarray) -> np.ndarray:
    """Pack ±1 values of shape (..., positions, channels) into uint32 (..., positions * words).

    >>> pack(np.array([[[1, -1, 1]]])).tolist()
    [[5]]
    """
    values = np.asarray(values)
    *lead, positions, channels = values.shape
    words = words_for(channels)
    bits = np.zeros(tuple(lead) + (positions, words * 32), dtype=np.uint64)
    bits[..., :channels] = values > 0
    weights = np.uint64(1) << np.arange(32, dtype=np.uint64)
    packed = (bits.reshape(tuple(lead) + (positions, words, 32)) * weights).sum(axis=-1)
    return packed.astype(np.uint32).reshape(tuple(lead) + (positions * words,))


def unpack(words: np.ndarray, positions: int, channels: int) -> np.ndarray:
    """The inverse of :func:`pack`: ±1 int8 of shape (..., positions, channels)."""
    words = np.asarray(words, dtype=np.uint32)
    lead = words.shape[:-1]
    per = words_for(channels)
    shifts = np.arange(32, dtype=np.uint32)
    bits = (words.reshape(lead + (positions, per, 1)) >> shifts) & 1
    bits = bits.reshape(lead + (positions, per * 32))[..., :channels]
    return np.where(bits == 1, 1, -1).astype(np.int8)
