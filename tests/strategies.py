"""Random networks, input specs, inputs, weights and batch-norm statistics.

The one generator that the tests draw from through hypothesis and
``benchmarks/fuzz.py`` draws from through numpy (reproducible from a seed):
each function takes ``pick``, a :class:`NumpyDraws` or a
:class:`HypothesisDraws`. It covers every layer kind (dense, 2-D convolutions
with rectangular kernels, strides and padding, 1-D convolutions, 2-D and 1-D
max pooling, flatten, dropout), batch norm with and without ``affine`` or
none at all, every input type and layout, widths that are not a multiple of
32 and odd sizes. Torch is imported here, so import this module only where
torch is installed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from hypothesis import assume
from hypothesis import strategies as st
from torch import nn

from sbn_mcu.ir import input_spec
from sbn_mcu.training.layers import SBActivation, SBConv1d, SBConv2d, SBLinear, Scores

# The largest network drawn, in binary multiply-accumulates per inference: the
# reference, torch and the sanitized C then take well under a second for 200 inputs.
MAX_MACS = 400_000


class NumpyDraws:
    """Draws from a numpy generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, options):
        return options[self.integer(0, len(options) - 1)]


class HypothesisDraws:
    """Draws from hypothesis, which shrinks a failing network to a small one."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def choice(self, options):
        return self.draw(st.sampled_from(options))


def conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def _activation(pick, layers: list, channels: int, norm) -> None:
    """Batch norm (mostly affine; sometimes without affine, or none), the activation, sometimes dropout."""
    kind = pick.choice(("affine", "affine", "affine", "plain", "none"))
    if kind != "none":
        layers.append(norm(channels, affine=kind == "affine"))
    layers.append(SBActivation())
    if pick.choice((False, False, False, True)):  # trains, and is gone at freeze
        layers.append(nn.Dropout(0.3))


def _scores(pick, layers: list, n_in: int) -> None:
    layers.append(SBLinear(n_in, pick.integer(2, 12)))
    if pick.choice((False, True)):
        layers.append(Scores())


def mlp(pick):
    """``(model, input shape, MACs)``: a vector, or an image flattened in torch's C, H, W order."""
    if pick.choice((False, True)):
        shape, layers = (pick.integer(1, 300),), []
    else:
        shape, layers = (pick.integer(1, 3), pick.integer(1, 9), pick.integer(1, 9)), [nn.Flatten()]
    widths = [int(np.prod(shape))] + [pick.integer(1, 300) for _ in range(pick.integer(1, 2))]
    for a, b in zip(widths, widths[1:]):
        layers.append(SBLinear(a, b))
        _activation(pick, layers, b, nn.BatchNorm1d)
    _scores(pick, layers, widths[-1])
    return nn.Sequential(*layers), shape, sum(a * b for a, b in zip(widths, widths[1:] + [12]))


def cnn(pick):
    """``(model, input shape, MACs)`` or None where a draw does not fit: 2-D convolutions (square or
    rectangular kernels, strides and padding) or 1-D ones, each maybe pooled, then dense layers."""
    one_d = pick.choice((False, True))
    # one 2-D draw in four starts as images usually do: one channel, a 3x3 kernel (the first layer that
    # the speed kernel conv_u8_3x3 takes on raw bytes)
    image_front = not one_d and pick.choice((False, False, False, True))
    c = 1 if image_front else pick.integer(1, 5)
    h = 1 if one_d else pick.integer(1, 15)
    w = pick.integer(1, 40) if one_d else pick.choice((h, pick.integer(1, 15)))
    layers: list[nn.Module] = []
    size_h, size_w, channels, macs = h, w, c, 0
    for i in range(pick.integer(1, 2)):
        out_c = pick.integer(1, 70)
        kh, kw = (1 if one_d else pick.choice((1, 3, 5))), pick.choice((1, 2, 3, 5))
        if image_front and i == 0:
            kh, kw = 3, 3
        sh, sw = (1 if one_d else pick.choice((1, 2))), pick.choice((1, 2))
        # pad may exceed k (k=1, pad=2): windows wholly in the padding count nothing
        ph, pw = (0 if one_d else pick.integer(0, 2)), pick.integer(0, 2)
        size_h, size_w = conv_out(size_h, kh, sh, ph), conv_out(size_w, kw, sw, pw)
        if size_h < 1 or size_w < 1:
            return None
        macs += size_h * size_w * out_c * channels * kh * kw
        if one_d:
            layers.append(SBConv1d(channels, out_c, kw, stride=sw, padding=pw))
        else:
            layers.append(SBConv2d(channels, out_c, (kh, kw), stride=(sh, sw), padding=(ph, pw)))
        _activation(pick, layers, out_c, nn.BatchNorm1d if one_d else nn.BatchNorm2d)
        channels = out_c
        pool_h, pool_w = (1 if one_d else pick.choice((1, 2, 3))), pick.choice((1, 2, 3))
        stride_h, stride_w = (1 if one_d else pick.choice((pool_h, 2))), pick.choice((pool_w, 2))
        if pick.choice((False, True)) and pool_h * pool_w > 1 and size_h >= pool_h and size_w >= pool_w:
            layers.append(nn.MaxPool1d(pool_w, stride_w) if one_d
                          else nn.MaxPool2d((pool_h, pool_w), (stride_h, stride_w)))
            size_h, size_w = conv_out(size_h, pool_h, stride_h, 0), conv_out(size_w, pool_w, stride_w, 0)
    flat = channels * size_h * size_w
    layers.append(nn.Flatten())
    if pick.choice((False, False, True)):  # a hidden dense layer on the flattened bits
        hidden = pick.integer(1, 70)
        layers.append(SBLinear(flat, hidden))
        _activation(pick, layers, hidden, nn.BatchNorm1d)
        macs, flat = macs + flat * hidden, hidden
    _scores(pick, layers, flat)
    return nn.Sequential(*layers), ((c, w) if one_d else (c, h, w)), macs + flat * 12


def network(pick, kind: str):
    """``(model, input shape, spec choice)`` of ``kind`` (``mlp`` or ``cnn``) with at most MAX_MACS
    MACs, or None where the draw does not fit. The spec choice is :func:`random_spec`'s arguments."""
    drawn = mlp(pick) if kind == "mlp" else cnn(pick)
    if drawn is None or drawn[2] > MAX_MACS:
        return None
    choice = (pick.choice(tuple(input_spec.TYPES)), pick.choice((False, True)), pick.choice((False, True)))
    first = drawn[0][0]
    if isinstance(first, SBConv2d) and tuple(first.weight.shape[1:]) == (1, 3, 3) and pick.choice((False, True)):
        choice = ("uint8", False, False)  # raw bytes in torch's order, as conv_u8_3x3 takes them
    return drawn[0], drawn[1], choice


@st.composite
def networks(draw, kind: str):
    """:func:`network` as a hypothesis strategy."""
    drawn = network(HypothesisDraws(draw), kind)
    assume(drawn is not None)
    return drawn


def draw_network(rng: np.random.Generator, kind: str):
    """:func:`network` from a numpy generator: drawn again until one fits."""
    while (drawn := network(NumpyDraws(rng), kind)) is None:
        pass
    return drawn


def random_kernels(rng: np.random.Generator, frozen_model) -> dict[str, str]:
    """A random choice among each layer's kernels (its smallest, or one that ``export --optimize speed``
    may take), recorded in the model as export records the planner's: every variant gets drawn."""
    from sbn_mcu.codegen import plan

    options = plan(frozen_model, {}).options
    choices = {str(index): str(rng.choice(names)) for index, names in options.items() if names and rng.random() < 0.5}
    frozen_model.meta["kernels"] = choices
    return choices


def random_inputs(rng: np.random.Generator, spec, n: int) -> np.ndarray:
    """``n`` raw inputs of the spec's type and stored shape: its smallest and largest values, a
    checkerboard of them, then in turn uniform values, extremes only, the two middle values (where
    the integers are smallest) and mostly one value."""
    lo, hi = spec.range
    shape = spec.stored_shape
    x = rng.integers(lo, hi + 1, size=(n, *shape)).astype(spec.numpy_dtype)
    special = [lo, hi, np.where(np.indices(shape).sum(axis=0) % 2, hi, lo)]
    for i in range(min(n, len(special))):
        x[i] = special[i]
    middle = (lo + hi) // 2
    for i in range(len(special), n):
        if i % 4 == 1:
            x[i] = rng.choice([lo, hi], size=shape)
        elif i % 4 == 2:
            x[i] = rng.choice([middle, middle + 1], size=shape)
        elif i % 4 == 3:
            x[i] = np.where(rng.random(shape) < 0.9, rng.integers(lo, hi + 1), x[i])
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
    x = spec.to_model_order(random_inputs(rng, spec, 20).astype(np.float64))
    centre = rng.uniform(lo, hi, size=spec.channels)
    spread = rng.uniform(0.05, 1.0, size=spec.channels)
    view = (1, spec.channels) + (1,) * (x.ndim - 2)
    x = np.clip(centre.reshape(view) + (x - (lo + hi) / 2) * spread.reshape(view), lo, hi)
    if layout == "hwc":
        x = x.transpose(0, 2, 3, 1)
    return input_spec.fit(np.round(x).astype(spec.numpy_dtype), dtype, layout, "per-channel", ())


# Batch-norm channel modes and their weights in a draw. CALM channels really switch, a fifth
# of them are constant; EXTREME adds statistics at the edges of what freeze folds.
CALM = {"normal": 8, "gamma_zero": 2}
EXTREME = {
    "normal": 10,  # statistics scaled to the fan-in
    "gamma_zero": 2,  # constant output, the sign of beta decides (beta may be 0 or -0.0)
    "gamma_negative": 3,  # the comparison flips (weights negated at freeze)
    "gamma_tiny": 2,  # |gamma| in {1e-30, 1e-38, 1e-45 (float32 subnormal)}
    "beta_huge": 2,  # beta = +-1e6: constant in practice
    "var_tiny": 2,  # running_var = 1e-8 (sigma ~ sqrt(eps))
    "var_huge": 2,  # running_var = 1e8
    "mean_far": 2,  # running_mean far outside the reachable sums
    "boundary": 3,  # the threshold exactly on a reachable sum: acc == t is hit
}


def _weights(rng: np.random.Generator, shape: tuple, extreme: bool) -> np.ndarray:
    """Normal weights with some exact zeros of both signs (sign(0) = sign(-0.0) = +1); ``extreme``:
    sometimes every weight +1, or -1, or a zero of either sign."""
    w = rng.normal(size=shape)
    style = rng.random() if extreme else 1.0
    if style < 0.05:
        w = np.zeros(shape)
    elif style < 0.10:
        w = -np.abs(w) - 0.1
    elif style < 0.15:
        w = np.where(rng.random(shape) < 0.5, 0.0, -0.0)
    w[rng.random(shape) < 0.05] = 0.0
    w[rng.random(shape) < 0.05] = -0.0
    return w


def _reachable_sum(rng: np.random.Generator, row: np.ndarray, first: bool) -> int:
    """A sum, in the layer's ±1 units, that the layer reaches: half the time that of an all-smallest
    (first layer) or all-+1 input, which the extreme inputs hit; else an end of the range or a sum
    of the right parity near the middle."""
    signs = np.where(row >= 0, 1, -1)
    n, draw = signs.size, rng.random()
    if draw < 0.5:
        return int(-signs.sum() if first else signs.sum())
    if draw < 0.6:
        return int(rng.choice([-n, n]))
    k = int(np.clip(round(rng.normal(scale=np.sqrt(n))), -n, n))
    return k if (k - n) % 2 == 0 else k + (1 if k < n else -1)


def randomize(model, rng: np.random.Generator, extreme: bool = False, drawn: Counter | None = None):
    """Random weights and batch-norm statistics, from ``rng`` alone; returns ``model`` in eval mode.

    The statistics are scaled to the fan-in of the layer before, so that channels switch (the
    first layer's inputs have a spread of about 0.58, like uniform bytes mapped to [-1, 1]); each
    channel draws a mode of CALM, or of EXTREME when ``extreme``. ``drawn`` counts the modes.
    """
    modes = EXTREME if extreme else CALM
    names, weights = list(modes), np.array(list(modes.values()), float)
    first, input_layer, rows, std = True, True, None, 1.0
    for m in model.modules():
        if isinstance(m, (SBLinear, SBConv1d, SBConv2d)):
            w = _weights(rng, tuple(m.weight.shape), extreme)
            m.weight.data = torch.from_numpy(w).to(m.weight.dtype)
            rows = w.reshape(len(w), -1)
            std = float(np.sqrt(rows.shape[1])) * (0.58 if first else 1.0)
            input_layer, first = first, False
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            chosen = rng.choice(names, size=n, p=weights / weights.sum())
            if extreme and rng.random() < 0.25:
                chosen[:] = chosen[0]  # one mode for every channel
            mean, var = rng.normal(scale=0.7 * std, size=n), std ** 2 * rng.uniform(0.05, 3.0, size=n)
            gamma, beta = rng.normal(size=n) * rng.choice([0.1, 1.0, 10.0], size=n), rng.normal(size=n)
            m.eps = float(rng.choice([1e-5, 1e-5, 1e-3, 0.0])) if extreme else m.eps
            for i, mode in enumerate(chosen):
                if mode == "gamma_zero":
                    gamma[i], beta[i] = 0.0, rng.choice([beta[i], 0.0, -0.0])
                elif mode == "gamma_negative":
                    gamma[i] = -abs(gamma[i]) - 1e-3
                elif mode == "gamma_tiny":
                    gamma[i] = rng.choice([1e-30, 1e-38, 1e-45]) * rng.choice([-1, 1])
                elif mode == "beta_huge":
                    beta[i] = 1e6 * rng.choice([-1, 1])
                elif mode == "var_tiny":
                    var[i] = 1e-8
                elif mode == "var_huge":
                    var[i] = 1e8
                elif mode == "mean_far":
                    mean[i] = rng.choice([-1, 1]) * rows.shape[1] * 10.0 ** rng.uniform(0.1, 6)
                elif mode == "boundary":  # mean * scale = tau: on a sum the layer reaches
                    mean[i], beta[i] = _reachable_sum(rng, rows[i % len(rows)], input_layer), 0.0
                    gamma[i] = rng.choice([-1.0, 1.0]) * rng.choice([1.0, 0.5, 3.0])
            if m.eps == 0.0:
                var = np.maximum(var, 1e-8)  # var + eps stays positive
            if drawn is not None:
                drawn.update(chosen.tolist())
            if m.track_running_stats:  # without, batch norm uses each batch's statistics
                m.running_mean.copy_(torch.from_numpy(mean))
                m.running_var.copy_(torch.from_numpy(var))
            if m.affine:  # without, gamma = 1 and beta = 0: only the statistics' modes apply
                m.weight.data = torch.from_numpy(gamma).to(m.weight.dtype)
                m.bias.data = torch.from_numpy(beta).to(m.bias.dtype)
    return model.eval()
