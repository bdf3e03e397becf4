"""Tests for sbn_mcu.training.freeze: threshold folding against brute force, and frozen
models against torch's float64 hard-mode network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from support import as_int_scores, randomize, torch_scores
from sbn_mcu.ir import model as frozen
from sbn_mcu.ir import reference
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.thresholds import fold_threshold
from sbn_mcu.training.freeze import freeze
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear, Scores
from sbn_mcu import ops

# --------------------------------------------------------------------------
# fold_threshold against brute force


def brute_force(mean, var, eps, gamma, beta, scale, bound):
    """(channels, 2*bound+1) ±1: float64 sign of the batch norm for every acc, sign(0) = +1."""
    acc = np.arange(-bound, bound + 1, dtype=np.float64)
    mean, var, gamma, beta = (np.asarray(a, np.float64)[:, None] for a in (mean, var, gamma, beta))
    y = gamma * (acc / scale - mean) / np.sqrt(var + eps) + beta
    return np.where(y >= 0, 1, -1)


def folded(negate, t, bound):
    """The same table from the folded rule: +1 iff (±acc) >= t."""
    acc = np.arange(-bound, bound + 1, dtype=np.int64)
    signed = np.where(np.asarray(negate)[:, None], -acc, acc)
    return np.where(signed >= np.asarray(t)[:, None], 1, -1)


def check_fold(mean, var, eps, gamma, beta, scale, bound):
    negate, t = fold_threshold(mean, var, eps, gamma, beta, scale, bound)
    negate, t = np.asarray(negate), np.asarray(t)
    assert negate.dtype == bool and t.dtype == np.int64
    np.testing.assert_array_equal(negate, np.asarray(gamma) < 0)
    assert np.all(t >= -bound) and np.all(t <= bound + 1)
    expected = brute_force(mean, var, eps, gamma, beta, scale, bound)
    got = folded(negate, t, bound)
    bad = np.argwhere(got != expected)
    assert bad.size == 0, f"first mismatches (channel, acc + bound): {bad[:5].tolist()}, t={t.tolist()}"
    return negate, t


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("scale, bound", [(1.0, 40), (1.0, 301), (255.0, 255 * 9), (255.0, 255 * 2)])
def test_fold_threshold_matches_brute_force_on_random_params(seed, scale, bound):
    rng = np.random.default_rng(seed)
    n = 64
    spread = bound / scale
    mean = rng.normal(scale=spread / 2, size=n)
    var = rng.uniform(1e-3, spread, size=n) * rng.choice([1e-2, 1.0, 1e2], size=n)
    gamma = rng.normal(size=n) * rng.choice([1e-6, 0.1, 1.0, 100.0], size=n)
    gamma[::5] = 0.0
    gamma[1::7] = -0.0
    beta = rng.normal(scale=2.0, size=n)
    beta[::9] = 0.0
    negate, t = check_fold(mean, var, 1e-5, gamma, beta, scale, bound)
    # gamma = 0 gives a constant channel whose value is the sign of beta
    zero = gamma == 0
    np.testing.assert_array_equal(negate[zero], False)
    np.testing.assert_array_equal(t[zero], np.where(beta[zero] >= 0, -bound, bound + 1))


@pytest.mark.parametrize("scale", [1.0, 255.0])
@pytest.mark.parametrize("gamma", [0.25, 1.0, 3.0, -0.25, -1.0, -3.0])
def test_fold_threshold_on_integer_thresholds(scale, gamma):
    # mean an integer (in acc units) and beta = 0: tau is an exact integer and
    # the batch norm is exactly 0 there, so acc = tau must give +1 either way.
    ks = np.arange(-6, 7, dtype=np.float64)
    n = len(ks)
    bound = int(8 * scale)
    mean = ks  # acc / scale - mean is exactly 0 at acc = k * scale
    negate, t = check_fold(mean, np.full(n, 2.0), 1e-5, np.full(n, gamma), np.zeros(n), scale, bound)
    tau = (ks * scale).astype(np.int64)
    if gamma > 0:
        np.testing.assert_array_equal(t, tau)  # acc >= k
    else:
        np.testing.assert_array_equal(t, -tau)  # -acc >= -k, i.e. acc <= k


@pytest.mark.parametrize("gamma, beta, mean, tau", [
    # sigma = 2 exactly (var + eps = 4, all dyadic): tau = mean - beta * 2 / gamma
    (2.0, 1.5, 3.5, 2.0), (2.0, -1.5, -4.5, -3.0), (-2.0, 1.5, 0.5, 2.0), (-2.0, -1.5, 2.5, 1.0),
    (0.5, 0.25, 1.0, 0.0), (-0.5, 0.25, -7.0, -6.0),
])
def test_fold_threshold_when_beta_moves_tau_onto_an_integer(gamma, beta, mean, tau):
    eps = 2.0 ** -10
    negate, t = check_fold([mean], [4.0 - eps], eps, [gamma], [beta], 1.0, 20)
    assert t[0] == (tau if gamma > 0 else -tau)


@pytest.mark.parametrize("scale", [1.0, 255.0])
@pytest.mark.parametrize("gamma", [1.0, -1.0, 0.01, -7.0])
def test_fold_threshold_on_half_integer_means(scale, gamma):
    ks = np.arange(-5, 6, dtype=np.float64)
    mean = ks + 0.5  # tau = scale * (k + 0.5), a half-integer: no acc sits on it
    bound = int(7 * scale)
    check_fold(mean, np.ones(len(ks)), 1e-5, np.full(len(ks), gamma), np.zeros(len(ks)), scale, bound)


@pytest.mark.parametrize("bound", [1, 10, 255 * 49])
def test_fold_threshold_clips_to_bound(bound):
    # tau far above, far below, at +-inf (tiny gamma) and exactly at the edges
    mean = np.array([1e12, -1e12, 0.0, 0.0, bound, -bound, bound + 1, -bound - 1, 0.0, 0.0], float)
    gamma = np.array([1.0, 1.0, 1e-310, 1e-310, 1.0, 1.0, 1.0, 1.0, -1e-310, -1e-310])
    beta = np.array([0.0, 0.0, -1e300, 1e300, 0.0, 0.0, 0.0, 0.0, -1e300, 1e300])
    var = np.ones(len(mean))
    negate, t = check_fold(mean, var, 1e-5, gamma, beta, 1.0, bound)
    assert t[0] == bound + 1 and t[1] == -bound  # never / always +1
    assert t[2] == bound + 1 and t[3] == -bound
    assert t[4] == bound and t[5] == -bound
    assert t[6] == bound + 1 and t[7] == -bound
    # gamma < 0 negates (-acc >= t): beta = -1e300 dominates (always -1), +1e300 too (always +1)
    assert t[8] == bound + 1 and t[9] == -bound


@pytest.mark.parametrize("field", ["mean", "var", "gamma", "beta"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fold_threshold_rejects_nan_and_inf(field, bad):
    params = {"mean": [0.0, 1.0], "var": [1.0, 1.0], "gamma": [1.0, -1.0], "beta": [0.0, 0.5]}
    params[field] = [params[field][0], bad]
    with pytest.raises(SbnError):
        fold_threshold(params["mean"], params["var"], 1e-5, params["gamma"], params["beta"], 1.0, 10)


# --------------------------------------------------------------------------
# freeze against torch's hard mode


def mlp(n_in, hidden, classes, flatten=True, affine=True):
    layers = [nn.Flatten()] if flatten else []
    for a, b in zip((n_in,) + hidden, hidden):
        layers += [SBLinear(a, b), nn.BatchNorm1d(b, affine=affine), SBActivation()]
    return nn.Sequential(*layers, SBLinear(hidden[-1] if hidden else n_in, classes), Scores())


def cnn(c, size, classes):
    side = ((size + 2 - 3) // 1 + 1) // 2  # conv 3 pad 1 keeps size, pool halves
    side2 = (side - 3) // 2 + 1  # conv 3 stride 2, no padding
    return nn.Sequential(
        SBConv2d(c, 6, 3, padding=1), nn.BatchNorm2d(6), SBActivation(), nn.MaxPool2d(2),
        SBConv2d(6, 40, 3, stride=2), nn.BatchNorm2d(40), SBActivation(),
        nn.Flatten(), SBLinear(40 * side2 * side2, 9), nn.BatchNorm1d(9), SBActivation(),
        SBLinear(9, classes), Scores())


CASES = {
    "mlp": (lambda: mlp(50, (33, 70), 6), (50,)),
    "mlp-image": (lambda: mlp(3 * 5 * 7, (40,), 10), (3, 5, 7)),
    "mlp-deep": (lambda: mlp(13, (1, 64, 31), 3), (13,)),
    "cnn": (lambda: cnn(2, 11, 5), (2, 11, 11)),
    "cnn-rgb": (lambda: cnn(3, 9, 4), (3, 9, 9)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", range(3))
def test_freeze_matches_torch_hard_mode_scores(case, seed):
    make, shape = CASES[case]
    rng = np.random.default_rng(seed)
    model = randomize(make(), rng)
    norms = [m for m in model if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert any((m.weight < 0).any() for m in norms) and any((m.weight == 0).any() for m in norms)
    fm = freeze(model, shape)
    pixels = rng.integers(0, 256, size=(64,) + shape, dtype=np.uint8)
    pixels[0] = 0
    pixels[1] = 255
    got = reference.run(fm, pixels)
    assert got.dtype == np.int32 and got.shape == (64, fm.num_classes)
    expected = as_int_scores(torch_scores(model, pixels))
    np.testing.assert_array_equal(got, expected)


def test_freeze_layers_weights_and_thresholds():
    rng = np.random.default_rng(7)
    model = randomize(mlp(20, (12,), 4), rng)
    lin1, bn, lin2 = model[1], model[2], model[4]
    fm = freeze(model, (20,))
    assert [type(layer) for layer in fm.layers] == [ops.Flatten, ops.Dense, ops.Dense]
    hidden, scores = fm.layers[1], fm.layers[2]
    w1 = lin1.weight.detach().numpy()
    sign1 = np.where(w1 >= 0, 1, -1)
    gamma = bn.weight.detach().numpy()
    expected = np.where((gamma < 0)[:, None], -sign1, sign1)
    assert hidden.weights.dtype == np.int8
    np.testing.assert_array_equal(hidden.weights, expected)
    _, t = fold_threshold(bn.running_mean.numpy(), bn.running_var.numpy(), bn.eps,
                          gamma, bn.bias.detach().numpy(), 255.0, 20 * 255)
    np.testing.assert_array_equal(hidden.thresholds, t)
    np.testing.assert_array_equal(scores.weights, np.where(lin2.weight.detach().numpy() >= 0, 1, -1))
    assert scores.thresholds is None
    assert fm.num_classes == 4 and fm.input_shape == (20,)
    # the original torch model is not modified by freezing
    np.testing.assert_array_equal(lin1.weight.detach().numpy(), w1)


def test_freeze_activation_without_batch_norm_and_affine_false():
    rng = np.random.default_rng(8)
    model = nn.Sequential(SBLinear(16, 24), nn.BatchNorm1d(24, affine=False), SBActivation(),
                          SBLinear(24, 10), SBActivation(), SBLinear(10, 3))
    randomize(model, rng)
    model[1].running_mean.copy_(torch.from_numpy(rng.normal(scale=2.0, size=24)))
    fm = freeze(model, (16,))
    np.testing.assert_array_equal(fm.layers[1].thresholds, np.zeros(10, np.int64))
    pixels = rng.integers(0, 256, size=(100, 16), dtype=np.uint8)
    np.testing.assert_array_equal(reference.run(fm, pixels), as_int_scores(torch_scores(model, pixels)))


def unsupported(kind):
    return {
        "relu": (nn.Sequential(SBLinear(4, 3), nn.BatchNorm1d(3), SBActivation(), nn.ReLU(),
                               SBLinear(3, 2)), 3, "ReLU"),
        "linear": (nn.Sequential(SBLinear(4, 3), nn.BatchNorm1d(3), SBActivation(), nn.Linear(3, 2)),
                   3, "Linear"),
        "bn-without-activation": (nn.Sequential(SBLinear(4, 3), nn.BatchNorm1d(3), SBLinear(3, 2)),
                                  1, "BatchNorm1d"),
        "pool-first": (nn.Sequential(nn.MaxPool2d(2), SBConv2d(1, 2, 3), nn.BatchNorm2d(2),
                                     SBActivation(), nn.Flatten(), SBLinear(2, 2)), 0, "MaxPool2d"),
        "pool-after-flatten-first": (nn.Sequential(nn.Flatten(), nn.MaxPool2d(2), SBLinear(4, 2)),
                                     1, "MaxPool2d"),
        "activation-first": (nn.Sequential(SBActivation(), SBLinear(4, 2)), 0, "SBActivation"),
        "bn-first": (nn.Sequential(nn.BatchNorm1d(4), SBActivation(), SBLinear(4, 2)), 0, "BatchNorm1d"),
        "layernorm": (nn.Sequential(SBLinear(4, 3), nn.BatchNorm1d(3), SBActivation(), nn.LayerNorm(3),
                                    SBLinear(3, 2)), 3, "LayerNorm"),
        "avgpool": (nn.Sequential(SBConv2d(1, 2, 1), nn.BatchNorm2d(2), SBActivation(), nn.AvgPool2d(2),
                                  nn.Flatten(), SBLinear(2, 2)), 3, "AvgPool2d"),
        "score-layer-not-last": (nn.Sequential(SBLinear(4, 3), SBLinear(3, 2)), 0, "SBLinear"),
    }[kind]


@pytest.mark.parametrize("kind", ["relu", "linear", "bn-without-activation", "pool-first",
                                  "pool-after-flatten-first", "activation-first", "bn-first",
                                  "layernorm", "avgpool", "score-layer-not-last"])
def test_freeze_refuses_unsupported_layers_naming_type_and_index(kind):
    model, index, type_name = unsupported(kind)
    shape = (1, 4, 4) if isinstance(model[0], nn.MaxPool2d) or kind == "avgpool" else (4,)
    with pytest.raises(SbnError) as info:
        freeze(model.eval(), shape)
    message = str(info.value)
    assert f"layer {index} ({type_name})" in message, message


@pytest.mark.parametrize("attr, value", [("padding_mode", "reflect"), ("groups", 2), ("dilation", (2, 2))])
def test_freeze_refuses_unsupported_convolution_settings(attr, value):
    conv = SBConv2d(2, 2, 3, padding=1)
    setattr(conv, attr, value)
    model = nn.Sequential(conv, nn.BatchNorm2d(2), SBActivation(), nn.Flatten(), SBLinear(2 * 25, 2))
    with pytest.raises(SbnError) as info:
        freeze(model.eval(), (2, 5, 5))
    assert "layer 0 (SBConv2d)" in str(info.value), str(info.value)


def test_freeze_refuses_network_without_score_layer():
    model = nn.Sequential(SBLinear(4, 3), nn.BatchNorm1d(3), SBActivation())
    with pytest.raises(SbnError, match="class scores"):
        freeze(model.eval(), (4,))


def test_freeze_refuses_nan_batch_norm_and_weights():
    model = randomize(mlp(6, (5,), 2), np.random.default_rng(0))
    model[2].running_var[1] = float("nan")
    with pytest.raises(SbnError, match="NaN"):
        freeze(model, (6,))
    model = randomize(mlp(6, (5,), 2), np.random.default_rng(0))
    model[1].weight.data[0, 0] = float("inf")
    with pytest.raises(SbnError, match="NaN or Inf"):
        freeze(model, (6,))


def test_freeze_refuses_wrong_input_shape():
    model = randomize(mlp(6, (5,), 2), np.random.default_rng(0))
    with pytest.raises(SbnError):
        freeze(model, (7,))


def test_dropout_trains_and_is_removed_at_freeze():
    rng = np.random.default_rng(4)
    with_dropout = randomize(nn.Sequential(SBLinear(6, 5), nn.BatchNorm1d(5), SBActivation(), nn.Dropout(0.3),
                                           SBLinear(5, 3), Scores()), rng)
    without = nn.Sequential(*[m for m in with_dropout if not isinstance(m, nn.Dropout)])
    a, b = freeze(with_dropout, (6,)), freeze(without, (6,))
    assert [type(layer) for layer in a.layers] == [ops.Dense, ops.Dense]
    x = rng.integers(0, 256, (50, 6), dtype=np.uint8)
    np.testing.assert_array_equal(reference.run(a, x), reference.run(b, x))
    with_dropout.train()
    y = with_dropout[:4](torch.ones(200, 6))
    assert (y == 0).any()  # dropout acts while training
