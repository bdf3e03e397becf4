"""The input spec: its integer form, layouts, the per-channel fit, and how the model carries it."""

import numpy as np
import pytest

from sbn_mcu.errors import SbnError
from sbn_mcu.ir import input_spec
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Dense, Flatten


@pytest.mark.parametrize("dtype", list(input_spec.TYPES))
def test_range_normalisation_maps_the_type_onto_minus_one_to_one(dtype):
    spec = InputSpec((2,), dtype, "flat")
    lo, hi = spec.range
    raw = np.array([[lo, hi]], spec.numpy_dtype)
    assert spec.integers(raw).tolist() == [[-spec.scale, spec.scale]]
    assert spec.normalise(raw).tolist() == [[-1.0, 1.0]]
    assert spec.largest == spec.scale
    # every value maps to an odd integer, so no input is exactly 0
    every = np.arange(lo, hi + 1, max(1, (hi - lo) // 997)).astype(spec.numpy_dtype)
    wide = InputSpec((len(every),), dtype, "flat")
    assert np.all(wide.integers(every[None]) % 2 == 1)


def test_hwc_is_transposed_to_the_model_order():
    spec = InputSpec((3, 2, 4), "uint8", "hwc")
    assert spec.stored_shape == (2, 4, 3)
    raw = np.arange(24, dtype=np.uint8).reshape(1, 2, 4, 3)
    np.testing.assert_array_equal(spec.to_model_order(raw)[0], raw[0].transpose(2, 0, 1))
    np.testing.assert_array_equal(spec.integers(raw.reshape(1, -1)), 2 * raw.transpose(0, 3, 1, 2).astype(int) - 255)


def test_torch_and_numpy_normalise_alike():
    import torch

    from sbn_mcu.training.inputs import normalise

    rng = np.random.default_rng(0)
    raw = rng.integers(-128, 128, (5, 4, 3, 2)).astype(np.int8)
    spec = input_spec.fit(raw, "int8", "hwc", "per-channel", ["a", "b"])
    ours = normalise(spec, torch.from_numpy(raw)).numpy()
    np.testing.assert_array_equal(ours, spec.normalise(raw))
    # the integers come back exactly from float32, as hard mode needs
    np.testing.assert_array_equal(np.round(ours.astype(np.float64) * spec.scale), spec.integers(raw))


def test_per_channel_fit_standardises_each_channel():
    rng = np.random.default_rng(1)
    means, spreads = np.array([10.0, 200.0, 90.0]), np.array([3.0, 20.0, 60.0])
    x = np.clip(np.round(rng.normal(means[None, :, None], spreads[None, :, None], (4000, 3, 16))), 0, 255)
    spec = input_spec.fit(x.astype(np.uint8), "uint8", "cl", "per-channel", ["x", "y"])
    assert spec.normalisation == "per-channel" and min(spec.multipliers) == input_spec.SMALLEST_MULTIPLIER
    z = spec.normalise(x.astype(np.uint8))
    np.testing.assert_allclose(z.mean(axis=(0, 2)), 0, atol=0.05)
    np.testing.assert_allclose(z.std(axis=(0, 2)), 1, rtol=0.05)


def test_per_channel_fit_keeps_every_integer_exact_for_uneven_int16_channels():
    rng = np.random.default_rng(2)
    x = np.stack([rng.normal(0, 30000, 500), rng.normal(5, 400, 500)], axis=1)
    spec = input_spec.fit(np.clip(x, -32768, 32767).astype(np.int16), "int16", "flat", "per-channel", ["a"])
    assert spec.largest < input_spec.LARGEST_INTEGER
    assert min(spec.multipliers) < input_spec.SMALLEST_MULTIPLIER  # it had to give up precision
    x[:, 1] = rng.normal(5, 4, 500)  # spreads 7,500 times apart: no exact integer form
    with pytest.raises(SbnError, match="normalize range") as err:
        input_spec.fit(np.clip(x, -32768, 32767).astype(np.int16), "int16", "flat", "per-channel", ["a"])
    assert "\n" not in str(err.value)


def test_spec_round_trips_and_refuses_malformed_dicts():
    spec = input_spec.fit(np.zeros((3, 2, 5), np.int16) + np.arange(5, dtype=np.int16), "int16", "cl",
                          "per-channel", ["left", "right"])
    assert InputSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(SbnError, match="malformed") as err:
        InputSpec.from_dict({"shape": [3]})
    assert "\n" not in str(err.value)
    with pytest.raises(SbnError, match="float16"):
        InputSpec((3,), "float16", "flat")
    with pytest.raises(SbnError, match="does not fit layout"):
        InputSpec((3, 4), "uint8", "chw")


def test_check_names_the_type_and_shape_the_model_takes():
    spec = InputSpec((2, 3), "int8", "cl")
    assert spec.check(np.zeros((4, 2, 3), np.int8)).shape == (4, 6)
    with pytest.raises(SbnError, match=r"int8 values \(-128..127\), got uint8"):
        spec.check(np.zeros((4, 6), np.uint8))
    with pytest.raises(SbnError, match=r"shape \(N, 6\) or \(N, 2, 3\)"):
        spec.check(np.zeros((4, 3, 2), np.int8))


def test_frozen_model_carries_its_spec_and_reads_version_1_files(tmp_path):
    weights = np.where(np.random.default_rng(3).random((4, 6)) < 0.5, 1, -1).astype(np.int8)
    spec = InputSpec((2, 3), "int16", "cl", class_names=("a", "b", "c", "d"))
    model = FrozenModel(spec, [Dense(weights)], {"arch": "mlp"})
    model.save(tmp_path / "m.sbn.npz")
    assert FrozenModel.load(tmp_path / "m.sbn.npz").spec == spec
    # a version-1 file had an input shape and uint8 input
    import io
    import json
    import zipfile
    with np.load(tmp_path / "m.sbn.npz") as data:
        header = json.loads(str(data["header"]))
        arrays = {k: data[k] for k in data.files if k != "header"}
    header.update(version=1, input_shape=[6])
    del header["input"]
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array(json.dumps(header)), **arrays)
    (tmp_path / "old.sbn.npz").write_bytes(buffer.getvalue())
    old = FrozenModel.load(tmp_path / "old.sbn.npz")
    assert old.spec == InputSpec((6,), "uint8", "flat") and old.class_name(3) == "3"
    assert zipfile.is_zipfile(tmp_path / "old.sbn.npz")


def test_an_input_shape_that_does_not_fit_the_layers_is_named_as_the_model_records_it():
    model = FrozenModel(InputSpec((1, 28, 29)), [Flatten(), Dense(np.ones((2, 784), np.int8))])
    with pytest.raises(SbnError, match=r"the model's input shape \(1, 28, 29\) does not fit its layers "
                                       r"\(dense layer expects 784 inputs but gets shape \(812,\)\)"):
        model.shapes()


def test_a_recorded_input_shape_that_is_no_shape_is_named():
    spec = InputSpec((784,), layout="flat").to_dict()
    with pytest.raises(SbnError, match=r"input spec is malformed \(input shape \(-784,\) .*train or export"):
        InputSpec.from_dict({**spec, "shape": [-784]})
