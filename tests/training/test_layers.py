"""Tests for sbn_mcu.training.layers, .binarizers, .schedule and the describe/build round trip of .architectures."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from support import randomize
from sbn_mcu.training import architectures as models
from sbn_mcu.errors import SbnError
from sbn_mcu.training.binarizers import BINARIZERS
from sbn_mcu.training.layers import (SBActivation, SBConv2d, SBLinear, Scores, hard_copy, set_hard, set_method,
                                     set_sharpness, set_weight_norm)
from sbn_mcu.training.schedule import Sharpening


def values(schedule: Sharpening, n: int) -> list[float]:
    """The value before each of ``n`` steps."""
    out = []
    for _ in range(n):
        out.append(schedule.value)
        schedule.step()
    return out


# --------------------------------------------------------------------------
# Sharpening schedule


@pytest.mark.parametrize("shape", ["exponential", "linear"])
@pytest.mark.parametrize("start, end, steps", [(1.0, 1000.0, 7), (0.5, 3.0, 1), (2.0, 2.0, 4),
                                               (50.0, 0.25, 9), (1.0, 100.0, 250)])
def test_schedule_starts_at_start_and_holds_end(shape, start, end, steps):
    s = Sharpening(start, end, steps, shape)
    assert s.value == pytest.approx(start, rel=1e-12)
    seq = values(s, steps + 6)
    assert seq[0] == pytest.approx(start, rel=1e-12)
    for v in seq[steps:]:
        assert v == pytest.approx(end, rel=1e-12)
    # monotone towards the end value before it is reached
    diffs = np.diff(seq[:steps + 1])
    assert np.all(diffs * np.sign(end - start) >= -1e-12 * max(start, end))


@pytest.mark.parametrize("start, end, steps", [(1.0, 1000.0, 7), (0.1, 50.0, 30), (40.0, 2.0, 5)])
def test_exponential_schedule_is_geometric(start, end, steps):
    seq = np.array(values(Sharpening(start, end, steps, "exponential"), steps + 1))
    ratios = seq[1:] / seq[:-1]
    expected = (end / start) ** (1.0 / steps)
    np.testing.assert_allclose(ratios, expected, rtol=1e-10)


@pytest.mark.parametrize("start, end, steps", [(1.0, 1000.0, 7), (0.1, 50.0, 30), (40.0, 2.0, 5)])
def test_linear_schedule_has_constant_differences(start, end, steps):
    seq = np.array(values(Sharpening(start, end, steps, "linear"), steps + 1))
    np.testing.assert_allclose(np.diff(seq), (end - start) / steps, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(start=0.0, end=10.0, steps=5), dict(start=-1.0, end=10.0, steps=5),
    dict(start=1.0, end=0.0, steps=5), dict(start=1.0, end=-3.0, steps=5),
    dict(start=1.0, end=10.0, steps=0), dict(start=1.0, end=10.0, steps=-2),
    dict(start=1.0, end=10.0, steps=5, shape="cosine"), dict(start=1.0, end=10.0, steps=5, shape=""),
    dict(start=0.0, end=10.0, steps=5, shape="linear"),
])
def test_schedule_rejects_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        Sharpening(**kwargs)


# --------------------------------------------------------------------------
# binarizers


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_binarize_hard_is_sign_with_sign_zero_plus_one(dtype):
    x = torch.tensor([-3.0, -1e-30, -0.0, 0.0, 1e-30, 2.5, float("inf"), float("-inf")], dtype=dtype)
    got = BINARIZERS["sbn"].weights(x, torch.tensor(5.0), hard=True)
    assert got.dtype == dtype
    assert got.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0]


def test_binarize_hard_matches_elementwise_rule_on_random_values():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x[::7] = 0.0
    got = BINARIZERS["sbn"].weights(x, torch.tensor(1.0), hard=True)
    expected = [1.0 if v >= 0 else -1.0 for v in x.tolist()]
    assert got.tolist() == expected


@pytest.mark.parametrize("v", [0.5, 1.0, 7.0, 300.0])
def test_binarize_soft_is_tanh_of_v_x(v):
    x = torch.linspace(-3, 3, 101, dtype=torch.float64)
    got = BINARIZERS["sbn"].weights(x, torch.tensor(v, dtype=torch.float64), hard=False)
    expected = torch.tensor([math.tanh(v * t) for t in x.tolist()], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(256, 784), (32, 1, 3, 3), (8, 5, 3)])
@pytest.mark.parametrize("v, grad_v", [(2.0, 0.0), (2.0, 0.7), (2.0, 5.0), (float("inf"), 0.7)])
def test_normalised_weights_and_their_gradient_equal_the_plain_torch_formula(shape, grad_v, v):
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(*shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    got = BINARIZERS["sbn"].weights(w, torch.tensor(v, dtype=torch.float64), False, grad_v, normalise=True)
    (got_grad,) = torch.autograd.grad(got, w, upstream)
    u = w / w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)
    g = grad_v if 0 < grad_v < v else v
    if v == float("inf"):
        assert torch.equal(got.detach(), sign(u.detach()))
    else:
        torch.testing.assert_close(got.detach(), torch.tanh(v * u.detach()), rtol=1e-14, atol=1e-15)
    (expected_grad,) = torch.autograd.grad(torch.tanh(g * u), w, upstream)
    torch.testing.assert_close(got_grad, expected_grad, rtol=1e-10, atol=1e-12)


def sign(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t >= 0, torch.ones_like(t), -torch.ones_like(t))


# --------------------------------------------------------------------------
# Layers in hard and soft mode


def test_sblinear_hard_mode_is_linear_with_sign_weights():
    g = torch.Generator().manual_seed(1)
    layer = SBLinear(37, 11)
    layer.weight.data = torch.randn(11, 37, generator=g)
    layer.weight.data[0, :5] = 0.0
    x = torch.randn(6, 37, generator=g)
    set_hard(layer, True)
    assert torch.equal(layer(x), F.linear(x, sign(layer.weight)))
    set_hard(layer, False)
    torch.testing.assert_close(layer(x), F.linear(x, torch.tanh(layer.v * layer.weight)))


@pytest.mark.parametrize("k, stride, padding", [(1, 1, 0), (3, 1, 1), (3, 2, 2), (5, 2, 0), (5, 1, 2)])
def test_sbconv2d_hard_mode_is_conv_with_sign_weights(k, stride, padding):
    g = torch.Generator().manual_seed(k * 100 + stride * 10 + padding)
    layer = SBConv2d(3, 5, k, stride=stride, padding=padding)
    layer.weight.data = torch.randn(5, 3, k, k, generator=g)
    layer.weight.data[1, 0] = 0.0
    x = torch.randn(2, 3, 9, 11, generator=g)
    set_hard(layer, True)
    expected = F.conv2d(x, sign(layer.weight), stride=stride, padding=padding)
    assert torch.equal(layer(x), expected)
    set_hard(layer, False)
    torch.testing.assert_close(layer(x), F.conv2d(x, torch.tanh(layer.v * layer.weight),
                                                  stride=stride, padding=padding))


def test_sbactivation_hard_and_soft():
    act = SBActivation()
    act.v.fill_(3.0)
    x = torch.tensor([[-2.0, -0.0, 0.0, 0.25]])
    set_hard(act, True)
    assert act(x).tolist() == [[-1.0, 1.0, 1.0, 1.0]]
    set_hard(act, False)
    torch.testing.assert_close(act(x), torch.tanh(3.0 * x))


def test_scores_is_identity_in_hard_mode_and_scales_in_soft_mode():
    s = Scores()
    s.log_scale.data.fill_(0.7)
    x = torch.randn(4, 10, generator=torch.Generator().manual_seed(2))
    set_hard(s, True)
    assert torch.equal(s(x), x)
    set_hard(s, False)
    torch.testing.assert_close(s(x), x * math.exp(0.7))


def test_hard_copy_computes_sign_network_in_float64_and_leaves_original_alone():
    rng = np.random.default_rng(3)
    model = randomize(models.mlp((20,), 5, (16, 12)), rng)
    copy = hard_copy(model, 255)
    assert all(p.dtype == torch.float64 for p in copy.parameters())
    assert not copy.training
    assert all(m.hard for m in copy.modules() if hasattr(m, "hard"))
    assert all(not m.hard for m in model.modules() if hasattr(m, "hard"))
    assert all(p.dtype == torch.float32 for p in model.parameters())

    # A hand-written float64 sign network with the same weights and batch norm.
    x = torch.from_numpy(rng.uniform(-1, 1, size=(8, 20)))
    lin1, bn1, lin2, bn2, lin3 = model[1], model[2], model[4], model[5], model[7]

    def bn(y, m):
        return F.batch_norm(y, m.running_mean.double(), m.running_var.double(), m.weight.double(),
                            m.bias.double(), False, 0.0, m.eps)

    h = sign(bn(F.linear(x, sign(lin1.weight.double())), bn1))
    h = sign(bn(F.linear(h, sign(lin2.weight.double())), bn2))
    expected = F.linear(h, sign(lin3.weight.double()))
    with torch.no_grad():
        assert torch.equal(copy(x), expected)


def test_set_hard_reaches_nested_modules_and_returns_model():
    model = nn.Sequential(nn.Sequential(SBLinear(3, 2), SBActivation()), Scores())
    assert set_hard(model, True) is model
    assert all(m.hard for m in model.modules() if hasattr(m, "hard"))
    set_hard(model, False)
    assert not any(m.hard for m in model.modules() if hasattr(m, "hard"))


def test_set_sharpness_sets_every_layer():
    model = models.cnn((1, 8, 8), 3)
    set_sharpness(model, 42.5)
    vs = [float(m.v) for m in model.modules() if hasattr(m, "v")]
    assert len(vs) == 5 and all(v == 42.5 for v in vs)
    set_sharpness(model, 10.0, weight_scale=0.25)
    weights = [float(m.v) for m in model.modules() if isinstance(m, (SBLinear, SBConv2d))]
    acts = [float(m.v) for m in model.modules() if isinstance(m, SBActivation)]
    assert weights == [2.5] * 3 and acts == [10.0] * 2


@pytest.mark.parametrize("make, shape", [(lambda: SBLinear(6, 4), (5, 6)), (lambda: SBConv2d(3, 4, 3), (2, 3, 7, 7))])
def test_weight_norm_divides_each_output_channel_by_its_mean_magnitude(make, shape):
    torch.manual_seed(0)
    layer, x = make(), torch.randn(shape)
    set_weight_norm(layer, True)
    layer.v.fill_(2.0)
    w = layer.weight.detach()
    scale = w.abs().flatten(1).mean(1).view(-1, *[1] * (w.dim() - 1))
    expected = F.linear(x, torch.tanh(2.0 * w / scale)) if w.dim() == 2 else F.conv2d(x, torch.tanh(2.0 * w / scale))
    assert torch.allclose(layer(x), expected, atol=1e-6)
    with torch.no_grad():  # per channel: scaling one channel's weights leaves the output unchanged
        layer.weight[0] *= 7.0
    assert torch.allclose(layer(x), expected, atol=1e-5)
    set_weight_norm(layer, False)
    assert not torch.allclose(layer(x), expected, atol=1e-3)
    set_weight_norm(layer, True)
    set_hard(layer, True)  # sign ignores the scale: the binary network is the same
    hard = layer(x)
    set_weight_norm(layer, False)
    assert torch.equal(layer(x), hard)
    set_hard(layer, False)
    set_method(layer, "ste")  # the baselines never normalise
    set_weight_norm(layer, True)
    unnormalised = layer(x)
    set_weight_norm(layer, False)
    assert torch.equal(layer(x), unnormalised)


# --------------------------------------------------------------------------
# describe / build


@pytest.mark.parametrize("make, shape", [
    (lambda: models.mlp((30,), 4, (17, 9)), (30,)),
    (lambda: models.mlp((1, 28, 28), 10), (1, 28, 28)),
    (lambda: models.cnn((2, 12, 12), 7), (2, 12, 12)),
    (lambda: models.cnn((1, 28, 28), 10), (1, 28, 28)),
])
def test_describe_build_round_trip(make, shape):
    rng = np.random.default_rng(4)
    model = randomize(make(), rng)
    for m in model.modules():
        if isinstance(m, Scores):
            m.log_scale.data.fill_(0.3)
    description = json.loads(json.dumps(models.describe(model)))  # what a checkpoint stores
    rebuilt = models.build(description)
    assert list(rebuilt.state_dict()) == list(model.state_dict())
    assert [type(m) for m in rebuilt] == [type(m) for m in model]
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x = torch.from_numpy(rng.uniform(-1, 1, size=(3,) + shape)).float()
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)
        assert torch.equal(hard_copy(rebuilt, 255)(x.double()), hard_copy(model, 255)(x.double()))
    assert models.describe(rebuilt) == description


def test_describe_refuses_unsupported_layers():
    with pytest.raises(SbnError, match="ReLU"):
        models.describe(nn.Sequential(SBLinear(3, 2), nn.ReLU()))


@pytest.mark.parametrize("description", [
    [{"type": "nonsense"}],
    [{"type": "linear", "in_features": 3}],
    [{"kind": "linear"}],
])
def test_build_refuses_malformed_descriptions(description):
    with pytest.raises(SbnError):
        models.build(description)


def test_hard_copy_sums_byte_input_exactly():
    """A first layer without batch norm whose integer sum is exactly 0 must give
    sign(0) = +1 like the reference, although the float sum of (2p-255)/255
    terms is not exactly 0."""
    import numpy as np
    from torch import nn

    from sbn_mcu.ir import reference
    from sbn_mcu.training.freeze import freeze
    from sbn_mcu.training.layers import SBActivation, SBLinear, Scores, hard_copy

    model = nn.Sequential(SBLinear(2, 1), SBActivation(), SBLinear(1, 2), Scores()).eval()
    model[0].weight.data = torch.tensor([[1.0, 1.0]])
    model[2].weight.data = torch.tensor([[1.0], [-1.0]])
    pixels = np.array([[4, 251]], np.uint8)  # (2*4-255) + (2*251-255) == 0
    assert float(np.sum(pixels / 127.5 - 1)) != 0.0  # the float sum alone would not be 0
    scores = hard_copy(model, 255)(torch.from_numpy(pixels).double() / 127.5 - 1)
    np.testing.assert_array_equal(scores.numpy(), reference.run(freeze(model, (2,)), pixels))


def test_sharpness_tied_to_fan_in_boosts_only_small_layers():
    from sbn_mcu.training.layers import set_sharpness

    model = nn.Sequential(SBConv2d(1, 4, 3), nn.BatchNorm2d(4), SBActivation(), nn.Flatten(), SBLinear(4 * 6 * 6, 3))
    set_sharpness(model, 10.0, 0.5)
    assert [float(m.v) for m in (model[0], model[2], model[4])] == [5.0, 10.0, 5.0]
    set_sharpness(model, 10.0, 0.5, fan_in_reference=36)  # fan-ins 9 and 144
    assert [float(m.v) for m in (model[0], model[2], model[4])] == [10.0, 10.0, 5.0]


@pytest.mark.parametrize("normalise", [False, True])
@pytest.mark.parametrize("v, grad_v", [(2.0, 0.0), (10.0, 3.0), (math.inf, 3.0)])
def test_sharp_tanh_gradient_is_that_of_tanh_at_the_gradient_sharpness(normalise, v, grad_v):
    """SharpTanh's hand-written backward equals autograd through tanh(g * u), u = w / mean|w| per row
    when normalising, g = grad_v where it is below v (else v); its forward is tanh(v * u) or sign."""
    from sbn_mcu.training.binarizers import SharpTanh, sign

    rng = np.random.default_rng(7)
    w = torch.tensor(rng.normal(size=(5, 3, 2, 3)), dtype=torch.float64, requires_grad=True)
    upstream = torch.tensor(rng.normal(size=w.shape), dtype=torch.float64)
    g = grad_v if 0 < grad_v < v else v

    def u(x):
        flat = x.reshape(len(x), -1)
        return (flat / flat.abs().mean(dim=1, keepdim=True) if normalise else flat).view(x.shape)

    y = SharpTanh.apply(w, torch.tensor(v, dtype=torch.float64), grad_v, normalise)
    expected_y = sign(w) if math.isinf(v) else torch.tanh(v * u(w))
    torch.testing.assert_close(y, expected_y.detach(), rtol=1e-12, atol=1e-12)
    (got,) = torch.autograd.grad(y, w, upstream)
    (expected,) = torch.autograd.grad(torch.tanh(g * u(w)), w, upstream)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
