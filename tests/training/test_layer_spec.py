"""The layer spec of --arch: every form, the presets, and one clear line for each malformed spec."""

import pytest
import torch
from torch import nn

from sbn_mcu.errors import SbnError
from sbn_mcu.training import architectures, layer_spec
from sbn_mcu.training.layers import SBActivation, SBConv1d, SBConv2d, SBLinear, Scores


def kinds(model):
    return [type(m).__name__ for m in model]


def test_every_form_builds_and_runs():
    model = layer_spec.build("conv3x5:8, pool2x1, conv3:4, pool2, dropout:0.25, dense:16, dense:3", (2, 12, 10), 3)
    assert kinds(model) == ["SBConv2d", "BatchNorm2d", "SBActivation", "MaxPool2d", "SBConv2d", "BatchNorm2d",
                            "SBActivation", "MaxPool2d", "Dropout", "Flatten", "SBLinear", "BatchNorm1d",
                            "SBActivation", "SBLinear", "Scores"]
    assert model[0].kernel_size == (3, 5) and model[0].padding == (1, 2)  # "same"
    assert model[3].kernel_size == (2, 1) and model[4].kernel_size == (3, 3)
    assert model(torch.zeros(2, 2, 12, 10)).shape == (2, 3)


def test_one_d_data_gets_one_d_layers_and_the_class_count_is_appended():
    model = layer_spec.build("conv5:16,pool2,conv5:32,pool2", (3, 64), 4)
    assert isinstance(model[0], SBConv1d) and model[0].padding == (2,) and isinstance(model[3], nn.MaxPool1d)
    assert isinstance(model[-2], SBLinear) and model[-2].out_features == 4 and isinstance(model[-1], Scores)
    assert model(torch.zeros(2, 3, 64)).shape == (2, 4)
    assert kinds(architectures.build_arch("cnn", (3, 64), 4))[0] == "SBConv1d"  # the preset's 1-D analogue


def test_presets_are_the_architectures_they_always_were():
    mlp = architectures.build_arch("mlp", (1, 28, 28), 10)
    assert kinds(mlp) == ["Flatten", "SBLinear", "BatchNorm1d", "SBActivation", "SBLinear", "BatchNorm1d",
                          "SBActivation", "SBLinear", "Scores"]
    assert [m.out_features for m in mlp if isinstance(m, SBLinear)] == [256, 256, 10]
    cnn = architectures.build_arch("cnn", (1, 28, 28), 10)
    convs = [m for m in cnn if isinstance(m, SBConv2d)]
    assert [(m.out_channels, m.kernel_size, m.padding) for m in convs] == [(32, (3, 3), (1, 1)), (64, (3, 3), (1, 1))]
    assert cnn[-2].in_features == 64 * 7 * 7
    large = architectures.build_arch("cnn-large", (3, 16, 12), 5)
    assert sum(isinstance(m, SBConv2d) for m in large) == 4 and large[-2].in_features == 512
    assert sum(isinstance(m, SBActivation) for m in large) == 5


def test_a_last_dense_of_the_class_count_gives_the_scores():
    model = layer_spec.build("dense:32,dense:10", (20,), 10)
    assert [m.out_features for m in model if isinstance(m, SBLinear)] == [32, 10]


@pytest.mark.parametrize("spec, data, message", [
    ("conv3x3", (1, 8, 8), "'conv3x3' is not a layer"),
    ("dense:ten", (4,), "is not a layer"),
    ("conv3x3:0", (1, 8, 8), "sizes of 1 or more"),
    ("dropout:1.5", (4,), "dropout below 1"),
    ("pool2,dense:4", (1, 8, 8), "pool2 must follow a convolution"),
    ("conv3x3:4", (5,), "needs examples with channels"),
    ("conv3x3:4", (2, 30), "is 2-D but the data is 1-D"),
    ("conv3:4,pool2,pool2,pool2", (1, 4, 4), "pool2 takes 1x1 below 1"),
    ("conv2x2:4", (1, 1, 1), "does not fit inputs of 1x1"),
    ("dense:8,dropout:0.1", (4,), "dropout cannot be the last layer"),
])
def test_malformed_or_unfitting_specs_are_one_line(spec, data, message):
    with pytest.raises(SbnError, match=message) as err:
        layer_spec.build(spec, data, 3)
    assert "\n" not in str(err.value) and str(err.value).startswith("--arch")


def test_cnn_preset_refuses_data_it_cannot_fit():
    with pytest.raises(SbnError, match="below 1"):
        architectures.build_arch("cnn", (1, 3, 3), 2)
    with pytest.raises(SbnError, match="needs examples with channels"):
        architectures.build_arch("cnn", (30,), 2)
