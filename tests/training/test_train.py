"""Training is reproducible from its seed."""

import json

import numpy as np
import torch

from sbn_mcu.training import TrainConfig, train
from sbn_mcu.training.distributed import resolve_device
from sbn_mcu.training.loop import split_validation


def run(tmp_path, seed, tag, **options):
    config = TrainConfig(limit=500, epochs=2, seed=seed, calibration_images=500, val_images=1000, **options)
    model, metrics = train(config, tmp_path / tag, progress=False)
    strip = [{k: v for k, v in m.items() if k != "seconds"} for m in metrics]
    return model.state_dict(), strip


def test_same_seed_same_checkpoint_and_metrics_other_seed_differs(tmp_path):
    (a, ma), (b, mb), (c, mc) = run(tmp_path, 5, "a"), run(tmp_path, 5, "b"), run(tmp_path, 6, "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ma == mb and all("val_hard_accuracy" in m for m in ma)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert ma != mc


def test_validation_split_is_seeded_disjoint_and_capped():
    train_idx, val_idx = split_validation(60000, 5000, seed=3)
    assert len(val_idx) == 5000 and len(train_idx) == 55000
    assert set(train_idx.tolist()).isdisjoint(val_idx.tolist())
    assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(60000))
    again, other = split_validation(60000, 5000, seed=3)[1], split_validation(60000, 5000, seed=4)[1]
    assert np.array_equal(val_idx, again) and not np.array_equal(val_idx, other)
    assert len(split_validation(600, 5000, seed=0)[1]) == 60  # a small data folder keeps 9/10 for training
    assert len(split_validation(600, 0, seed=0)[1]) == 0


def test_checkpoint_is_the_best_validation_epoch(tmp_path, monkeypatch):
    """model.pt holds the epoch that validation chose, and measures as recorded."""
    from sbn_mcu import data
    from sbn_mcu.training.layers import hard_copy
    from sbn_mcu.training import load_checkpoint
    from sbn_mcu.training.loop import accuracy

    import sbn_mcu.training.loop as loop

    # the last epoch's validation figure is made the worst, so that selection must pick an earlier one
    config = TrainConfig(limit=2000, epochs=3, seed=0, calibration_images=2000, val_images=1000)
    calls = []

    def last_validation_worst(model, pixels, labels, *args, **kwargs):
        calls.append(len(pixels))
        measured = accuracy(model, pixels, labels, *args, **kwargs)
        is_last_val = len(pixels) == 1000 and calls.count(1000) == config.epochs
        return 0.0 if is_last_val else measured

    monkeypatch.setattr(loop, "accuracy", last_validation_worst)
    returned, metrics = train(config, tmp_path / "run", progress=False)
    monkeypatch.undo()
    vals = [m["val_hard_accuracy"] for m in metrics]
    # the last epoch within one standard error of the best validation accuracy so far
    best = max(e for e in range(1, len(vals) + 1)
               if vals[e - 1] >= max(vals[:e]) - (max(vals[:e]) * (1 - max(vals[:e])) / 1000) ** 0.5)
    assert best < len(metrics)
    model, state = load_checkpoint(tmp_path / "run" / "model.pt")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert state["best_epoch"] == saved["best_epoch"] == best
    assert state["metrics"] == metrics[:best] and saved["epochs"] == metrics
    images, labels = data.load("fashion-mnist", "train")
    val_idx = split_validation(len(images), config.val_images, config.seed)[1]
    pixels, labels = torch.from_numpy(images[val_idx]).unsqueeze(1), torch.from_numpy(labels[val_idx]).long()
    spec = state["spec"]
    assert accuracy(hard_copy(model, spec.scale), pixels, labels, spec) == metrics[best - 1]["val_hard_accuracy"]
    a, b = returned.state_dict(), model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # train() returns what it saved


def test_an_earlier_epoch_is_kept_only_when_better_by_more_than_the_noise():
    from sbn_mcu.training.loop import keeps_up

    # one standard error at 0.88 of 5,000 images is 0.0046
    assert keeps_up([0.85, 0.88, 0.876], 5000) and not keeps_up([0.85, 0.88, 0.875], 5000)
    assert keeps_up([0.88], 5000) and keeps_up([None, None], 0)
    assert not keeps_up([0.88, 0.80], 5000) and keeps_up([0.88, 0.80], 10)  # few images: wide noise


def test_without_validation_the_last_epoch_is_kept(tmp_path):
    _, metrics = train(TrainConfig(limit=300, epochs=2, val_images=0, calibration_images=300), tmp_path / "r",
                       progress=False)
    saved = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert saved["best_epoch"] == 2 and not any("val_hard_accuracy" in m for m in metrics)


def test_device_choice(monkeypatch):
    import pytest

    from sbn_mcu.errors import SbnError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") == resolve_device("cpu")
    with pytest.raises(SbnError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_resume_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    import pytest

    import sbn_mcu.training.loop as training
    from sbn_mcu.errors import SbnError

    config = TrainConfig(limit=400, epochs=3, seed=2, calibration_images=400)
    whole, whole_metrics = train(config, tmp_path / "whole", progress=False)

    calls = {"n": 0}
    real = training.calibrate_hard

    def interrupt_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # as if Ctrl-C came during epoch 2
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "calibrate_hard", interrupt_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", progress=False)
    monkeypatch.setattr(training, "calibrate_hard", real)
    assert not (tmp_path / "cut" / "model.pt").exists()
    with pytest.raises(SbnError, match="--seed"):
        train(TrainConfig(limit=400, epochs=3, seed=9, calibration_images=400), tmp_path / "cut", resume=True,
              progress=False)
    resumed, resumed_metrics = train(config, tmp_path / "cut", progress=False, resume=True)
    a, b = whole.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda ms: [{k: v for k, v in m.items() if k != "seconds"} for m in ms]
    assert strip(resumed_metrics) == strip(whole_metrics)


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    import pytest

    from sbn_mcu.errors import SbnError

    with pytest.raises(SbnError, match="nothing to resume"):
        train(TrainConfig(limit=100, epochs=1), tmp_path / "none", progress=False, resume=True)


def test_ste_gradient_is_hardtanh_and_forward_is_sign():
    from sbn_mcu.training.binarizers import BINARIZERS

    x = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.4, 1.0, 1.5], requires_grad=True)
    y = BINARIZERS["ste"].weights(x, torch.tensor(1.0), hard=False)
    assert torch.equal(y.detach(), torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, (x.detach().abs() <= 1).float())


def test_ste_model_exports_bit_exact_and_float_model_is_refused(tmp_path):
    import pytest

    from sbn_mcu.errors import SbnError
    from sbn_mcu.export import export
    from sbn_mcu.training.layers import SBLinear
    from sbn_mcu.verify import verify_host

    ste, _ = train(TrainConfig(method="ste", limit=600, epochs=1, calibration_images=600), tmp_path / "ste",
                   progress=False)
    latent = [m.weight for m in ste.modules() if isinstance(m, SBLinear)]
    assert all(w.abs().max() <= 1.0 for w in latent)  # clipped like BinaryNet
    export(tmp_path / "ste" / "model.pt", tmp_path / "ste-export", "fm")
    result = verify_host(tmp_path / "ste-export", limit=300)
    assert result["mismatches"] == 0 and result["accuracy"] > 0.3
    _, metrics = train(TrainConfig(method="float", limit=600, epochs=1, calibration_images=600),
                       tmp_path / "float", progress=False)
    assert metrics[-1]["soft_accuracy"] > 0.3  # the float baseline learns
    with pytest.raises(SbnError, match="float model"):
        export(tmp_path / "float" / "model.pt", tmp_path / "float-export", "fm")
    assert not (tmp_path / "float-export").exists()


def test_cli_names_the_exported_epoch_and_refuses_a_missing_gpu(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sbn_mcu.cli import main

    result = CliRunner().invoke(main, ["train", "--limit", "600", "--epochs", "2", "--val-images", "600",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    best = saved["epochs"][saved["best_epoch"] - 1]
    assert f"{100 * best['hard_accuracy']:.2f}% " in result.stdout
    assert f"at epoch {saved['best_epoch']} of 2 (hard validation accuracy " \
           f"{100 * best['val_hard_accuracy']:.2f}%, within one standard error of the best)" in result.stdout

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = CliRunner().invoke(main, ["train", "--device", "cuda", "--out", str(tmp_path / "gpu")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: --device cuda was asked for but no CUDA GPU is available; use --device cpu or auto"]
    assert not (tmp_path / "gpu").exists()


def test_weight_norm_and_weight_v_scale_change_sbn_only_and_grad_clip_clips(tmp_path):
    import pytest

    from sbn_mcu.errors import SbnError

    default = run(tmp_path, 0, "sbn")[1]
    for option, value in [("weight_norm", False), ("weight_v_scale", 1.0), ("grad_clip", 0.5)]:
        assert run(tmp_path, 0, option, **{option: value})[1] != default, option
    plain = {"weight_norm": False, "weight_v_scale": 1.0}
    assert run(tmp_path, 0, "ste", method="ste")[1] == run(tmp_path, 0, "ste-plain", method="ste", **plain)[1]
    for option, value in [("weight_v_scale", 0.0), ("grad_clip", -1.0)]:
        with pytest.raises(SbnError, match="--" + option.replace("_", "-")):
            train(TrainConfig(limit=100, epochs=1, **{option: value}), tmp_path / "bad", progress=False)


def test_gradient_cap_and_sign_finish_change_the_gradient_not_the_forward():
    from sbn_mcu.training.binarizers import BINARIZERS, sign

    sbn = BINARIZERS["sbn"]
    x = torch.linspace(-2, 2, 41, dtype=torch.float64, requires_grad=True)
    for v, expected_forward in [(torch.tensor(50.0, dtype=torch.float64), None),
                                (torch.tensor(float("inf"), dtype=torch.float64), sign(x.detach()))]:
        y = sbn.activations(x, v, hard=False, grad_v=2.0)
        (g,) = torch.autograd.grad(y.sum(), x)
        forward = expected_forward if expected_forward is not None else torch.tanh(v * x.detach())
        assert torch.equal(y.detach(), forward)
        assert torch.allclose(g, 2.0 * (1 - torch.tanh(2.0 * x.detach()) ** 2))
    # without a cap, or with one above v, the gradient is tanh(v*x)'s own
    v = torch.tensor(1.5, dtype=torch.float64)
    for cap in (0.0, 3.0):
        (g,) = torch.autograd.grad(sbn.activations(x, v, False, cap).sum(), x)
        assert torch.allclose(g, 1.5 * (1 - torch.tanh(1.5 * x.detach()) ** 2))


def test_augment_moves_each_input_within_the_shift_and_flips_mirror():
    from sbn_mcu.training.inputs import augment

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, 9, 11, generator=generator)
    assert torch.equal(augment(x, generator, 0, False), x)
    moved = augment(x, generator, 2, False)
    for original, out in zip(x, moved):  # each output's interior is the input, shifted by some (dy, dx)
        assert any(torch.equal(out[:, 2:-2, 2:-2], original[:, 2 + dy:7 + dy, 2 + dx:9 + dx])
                   for dy in range(-2, 3) for dx in range(-2, 3))
    assert not torch.equal(moved, x)
    flipped = augment(x, generator, 0, True)
    kept = [torch.equal(a, b) for a, b in zip(flipped, x)]
    assert all(k or torch.equal(a, b.flip(-1)) for k, a, b in zip(kept, flipped, x))
    assert 0 < sum(kept) < len(x)


def test_new_training_options_change_sbn_training_and_refuse_bad_values(tmp_path):
    import pytest

    from sbn_mcu.errors import SbnError

    default = run(tmp_path, 0, "sbn")[1]
    for option, value in [("grad_v_max", 2.0), ("sign_finish", 0.5)]:
        assert run(tmp_path, 0, option, **{option: value})[1] != default, option
    # a cap or a finish leaves STE alone
    ste = run(tmp_path, 0, "ste", method="ste")[1]
    no_v = lambda metrics: [{k: x for k, x in m.items() if k != "v"} for m in metrics]  # noqa: E731
    assert no_v(run(tmp_path, 0, "ste-capped", method="ste", grad_v_max=2.0, sign_finish=0.5)[1]) == no_v(ste)
    for option, value in [("sign_finish", 1.0), ("teacher_weight", 1.5), ("augment", -1)]:
        with pytest.raises(SbnError, match="--" + option.replace("_", "-")):
            train(TrainConfig(limit=100, epochs=1, **{option: value}), tmp_path / "bad", progress=False)


def test_the_default_sign_finish_follows_the_layer_types(tmp_path):
    """Without --sign-finish, a network with convolutions finishes on sign for longer than one without."""
    from sbn_mcu.training.config import SIGN_FINISH

    assert SIGN_FINISH["convolutional"] > SIGN_FINISH["dense"]
    for arch, kind in [("dense:16", "dense"), ("conv3x3:4,pool2", "convolutional")]:
        default = run(tmp_path, 0, arch, arch=arch)[1]
        assert run(tmp_path, 0, arch + "-given", arch=arch, sign_finish=SIGN_FINISH[kind])[1] == default, arch
        other = SIGN_FINISH["dense" if kind == "convolutional" else "convolutional"]
        assert run(tmp_path, 0, arch + "-other", arch=arch, sign_finish=other)[1] != default, arch


def test_teacher_distils_and_must_match_the_data(tmp_path):
    import pytest

    from sbn_mcu import data
    from sbn_mcu.errors import SbnError
    from sbn_mcu.training.loop import distillation

    scores = torch.randn(8, 10)
    assert distillation(scores, scores).abs() < 1e-6 < distillation(scores, torch.randn(8, 10))
    run(tmp_path, 0, "teacher", method="float")
    teacher = tmp_path / "teacher" / "model.pt"
    default = run(tmp_path, 0, "sbn")[1]
    assert run(tmp_path, 0, "silent", teacher=teacher, teacher_weight=0.0)[1] == default
    assert run(tmp_path, 0, "taught", teacher=teacher)[1] != default
    rng = np.random.default_rng(0)
    other = data.from_arrays(rng.integers(0, 256, (40, 1, 8, 8), dtype=np.uint8), np.arange(40) % 3,
                             rng.integers(0, 256, (10, 1, 8, 8), dtype=np.uint8), np.arange(10) % 3)
    with pytest.raises(SbnError, match="--teacher .* shape 1x28x28 in 10 classes.*same data"):
        train(TrainConfig(epochs=1, teacher=teacher, val_images=0), tmp_path / "other", progress=False,
              dataset=other)
    with pytest.raises(SbnError, match="--augment and --flip .* --input-shape"):
        flat = data.from_arrays(rng.integers(0, 256, (40, 12), dtype=np.uint8), np.arange(40) % 3,
                                rng.integers(0, 256, (10, 12), dtype=np.uint8), np.arange(10) % 3)
        train(TrainConfig(epochs=1, augment=1, val_images=0), tmp_path / "flat", progress=False, dataset=flat)
