"""Training is reproducible from its seed."""

import torch

from sbn_mcu.train import TrainConfig, train


def states(tmp_path, seed, tag):
    model, _ = train(TrainConfig(limit=500, epochs=1, seed=seed, calibration_images=500), tmp_path / tag,
                     progress=False)
    return model.state_dict()


def test_same_seed_same_checkpoint_other_seed_differs(tmp_path):
    a, b, c = states(tmp_path, 5, "a"), states(tmp_path, 5, "b"), states(tmp_path, 6, "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    import pytest

    import sbn_mcu.train as training
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
    from sbn_mcu.layers import binarize

    x = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.4, 1.0, 1.5], requires_grad=True)
    y = binarize(x, torch.tensor(1.0), hard=False, method="ste")
    assert torch.equal(y.detach(), torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, (x.detach().abs() <= 1).float())


def test_ste_model_exports_bit_exact_and_float_model_is_refused(tmp_path):
    import pytest

    from sbn_mcu.errors import SbnError
    from sbn_mcu.export import export
    from sbn_mcu.layers import SBLinear
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
