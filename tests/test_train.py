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
