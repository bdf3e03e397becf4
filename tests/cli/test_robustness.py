"""Regression tests for the robustness issue: ties, round trips, bad numbers, full disks, bad data, messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from support import randomize, torch_scores
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir import reference
from sbn_mcu.training import architectures
from sbn_mcu.training.freeze import check_against_torch, freeze
from sbn_mcu.training.layers import hard_copy


def _norm_inputs(model, x):
    """The float64 hard-mode input of every batch norm of ``model`` for uint8 images ``x``."""
    hard = hard_copy(model, 255)
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(i[0].clone()))
             for m in hard if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        hard(torch.from_numpy(x).double() / 127.5 - 1)
    for h in hooks:
        h.remove()
    return seen


def tied_mlp(seed=0):
    """An mlp whose batch-norm means are sums that its inputs reach exactly (beta = 0)."""
    rng = np.random.default_rng(seed)
    model = randomize(architectures.mlp((784,), 10, (24, 24)), rng)
    x = rng.integers(0, 256, size=(40, 1, 28, 28), dtype=np.uint8)
    x[:8] = 255  # q = 255 everywhere: the first layer's pre-activation is an integer
    x[8:16] = 0
    norms = [m for m in model if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for k, norm in enumerate(norms):
        with torch.no_grad():
            norm.bias.zero_()
            norm.weight.copy_(torch.where(norm.weight == 0, torch.ones_like(norm.weight), norm.weight))
            sums = _norm_inputs(model, x)[k]
            pick = sums[rng.integers(0, 16 if k == 0 else len(x), size=norm.num_features),
                        torch.arange(norm.num_features)]
            norm.running_mean.copy_(pick.float())
    return model, x


def test_batch_norm_ties_follow_sign_zero_is_plus_one():
    model, x = tied_mlp()
    frozen = freeze(model, (1, 28, 28))
    sums = _norm_inputs(model, x)
    ties = sum(int((s == m.running_mean.double()).sum()) for s, m in
               zip(sums, [m for m in model if isinstance(m, nn.modules.batchnorm._BatchNorm)]))
    assert ties > 20  # the statistics are adversarial
    np.testing.assert_array_equal(torch_scores(model, x), reference.run(frozen, x))
    assert check_against_torch(model, frozen, x) == 0


# 2. checkpoint round trip: every setting that changes the computation survives save -> load

from hypothesis import HealthCheck, given, settings, strategies as st

from sbn_mcu.training.checkpoint import load_checkpoint, save_checkpoint
from sbn_mcu.training.config import TrainConfig
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear, Scores


@st.composite
def conv_models(draw):
    k = draw(st.sampled_from([1, 2, 3]))
    conv = SBConv2d(1, 4, k, stride=draw(st.sampled_from([1, 2])), padding=draw(st.sampled_from([0, 1])),
                    dilation=draw(st.sampled_from([1, 2])),
                    padding_mode=draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"])))
    affine, track = draw(st.booleans()), draw(st.booleans())
    pool = nn.MaxPool2d(draw(st.sampled_from([2, 3])), draw(st.sampled_from([1, 2])), padding=draw(st.sampled_from([0, 1])),
                        ceil_mode=draw(st.booleans()))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    body = nn.Sequential(conv, nn.BatchNorm2d(4, eps=eps, affine=affine, track_running_stats=track,
                                              momentum=draw(st.sampled_from([0.1, None]))),
                         SBActivation(), pool, nn.Flatten())
    with torch.no_grad():
        features = body(torch.zeros(2, 1, 12, 12)).shape[1]
    return nn.Sequential(*body, SBLinear(features, 5), Scores())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=conv_models(), seed=st.integers(0, 2 ** 16))
def test_checkpoint_round_trip_keeps_hard_outputs(tmp_path, model, seed):
    randomize(model, np.random.default_rng(seed))
    save_checkpoint(tmp_path / "m.pt", model, TrainConfig(), [], InputSpec((1, 12, 12)))
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    x = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (6, 1, 12, 12))).double() / 127.5 - 1
    with torch.no_grad():
        torch.testing.assert_close(hard_copy(loaded, 255)(x), hard_copy(model, 255)(x), rtol=0, atol=0)


def test_checkpoint_refuses_unsupported_module_at_save(tmp_path):
    model = nn.Sequential(nn.Flatten(), SBLinear(784, 10), nn.ReLU())
    with pytest.raises(SbnError, match="cannot save layer ReLU") as err:
        save_checkpoint(tmp_path / "m.pt", model, TrainConfig(), [], InputSpec((1, 28, 28)))
    assert "\n" not in str(err.value) and not (tmp_path / "m.pt").exists()


def test_checkpoint_that_is_a_directory_says_so(tmp_path):
    with pytest.raises(SbnError, match="is a directory"):
        load_checkpoint(tmp_path)


# 3. bad training numbers: refused before the run folder exists; divergence stops with one line

import math
import os
import subprocess
import sys

from sbn_mcu.training import loop
from sbn_mcu.training.checkpoint import TRAINING_STATE


def sbn(*args, timeout: float = 300):
    env = {k: v for k, v in os.environ.items() if k != "SBN_MCU_DEBUG"}
    return subprocess.run([sys.executable, "-m", "sbn_mcu", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def one_line(proc) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0], proc.stderr
    return lines[0]


@pytest.mark.parametrize("option, value", [("--lr", "inf"), ("--lr", "nan"), ("--v-end", "nan"),
                                           ("--v-end", "inf"), ("--batch-size", "1")])
def test_bad_training_numbers_are_refused_before_the_run_folder(tmp_path, option, value):
    with pytest.raises(SbnError, match=option):
        loop.train(TrainConfig(**{option[2:].replace("-", "_"): float(value) if option != "--batch-size"
                                  else int(value)}, limit=50, epochs=1), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_cli_bad_number_is_one_line(tmp_path):
    assert "--lr" in one_line(sbn("train", "--lr", "nan", "--limit", 50, "--epochs", 1, "--out", tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_divergence_stops_naming_epoch_and_step_and_keeps_the_last_epoch(tmp_path, monkeypatch):
    config = TrainConfig(limit=200, epochs=2, batch_size=50, val_images=0, calibration_images=100)
    real = loop.clip_latent_weights
    steps = {"n": 0}

    def poison_in_epoch_two(model):  # the weights turn NaN in the second step of epoch 2
        real(model)
        steps["n"] += 1
        if steps["n"] == 4 + 2:
            with torch.no_grad():
                next(model.parameters()).fill_(math.nan)

    monkeypatch.setattr(loop, "clip_latent_weights", poison_in_epoch_two)
    with pytest.raises(SbnError, match=r"diverged at epoch 2, step 2: a weight is NaN.*keeps epoch 1") as err:
        loop.train(config, tmp_path / "run", progress=False)
    assert "\n" not in str(err.value)
    saved = torch.load(tmp_path / "run" / TRAINING_STATE, weights_only=True)
    assert len(saved["metrics"]) == 1
    assert all(torch.isfinite(t).all() for t in saved["model"].values() if t.is_floating_point())


def test_short_training_run_prints_no_warnings(tmp_path):
    proc = sbn("train", "--limit", 60, "--epochs", 1, "--batch-size", 30, "--val-images", 0, "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "warn" not in proc.stderr.lower(), proc.stderr


# 4. a full disk while saving: one line, no .tmp left, the earlier file intact

from sbn_mcu.training import checkpoint as checkpoint_module

ENFORCE = ("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 0\n"
           "frame #0: c10::ThrowEnforceNotMet(char const*, int, char const*, std::string const&, void const*)")


def _disk_full(obj, f, *args, **kwargs):
    with open(f, "wb") as out:
        out.write(b"PK\x03\x04partial")
    raise RuntimeError(ENFORCE)


def test_disk_full_while_saving_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "training.pt"
    checkpoint_module.save(path, {"epoch": 1})
    before = path.read_bytes()
    monkeypatch.setattr(checkpoint_module.torch, "save", _disk_full)
    with pytest.raises(SbnError) as err:
        checkpoint_module.save(path, {"epoch": 2})
    message = str(err.value)
    assert "\n" not in message and "the disk is full" in message and "enforce fail" not in message
    assert "free disk space and run again with --resume" in message  # training.pt is there to resume from
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["training.pt"]


def test_disk_full_during_training_is_one_line_on_the_cli(tmp_path):
    # the CLI in a process, with torch.save failing on the second epoch's save
    script = (
        "import sys, torch, sbn_mcu.training.checkpoint as c\n"
        "real = torch.save; calls = []\n"
        "def full(obj, f, *a, **k):\n"
        "    calls.append(f)\n"
        "    if len(calls) == 2:\n"
        "        open(f, 'wb').write(b'partial')\n"
        f"        raise RuntimeError({ENFORCE!r})\n"
        "    return real(obj, f, *a, **k)\n"
        "torch.save = full\n"
        "from sbn_mcu.cli import main\n"
        "sys.argv = ['sbn-mcu'] + sys.argv[1:]\n"
        "main()\n")
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "SBN_MCU_DEBUG"}
    proc = subprocess.run([sys.executable, "-c", script, "train", "--limit", "60", "--epochs", "2", "--batch-size", "30",
                           "--val-images", "0", "--out", str(run_dir)], capture_output=True, text=True, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)
    line = one_line(proc)
    assert "cannot write" in line and "the disk is full" in line
    assert not list(run_dir.glob("*.tmp"))
    saved = torch.load(run_dir / TRAINING_STATE, weights_only=True)
    assert len(saved["metrics"]) == 1


def test_disk_full_before_any_epoch_does_not_advise_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_module.torch, "save", _disk_full)
    with pytest.raises(SbnError) as err:
        checkpoint_module.save(tmp_path / "training.pt", {"epoch": 1})
    assert "--resume" not in str(err.value) and "train again" in str(err.value)


def test_a_second_export_name_replaces_the_earlier_export_up_front(tmp_path):
    folder = tiny_export(tmp_path / "out", name="alpha")
    tiny_export(folder, name="beta")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["beta.h", "beta.c", "beta.sbn.npz", "beta.cmake", "beta.mk", "summary.json", "sbn-export.json"])
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(SbnError, match="notes.txt"):
        tiny_export(folder, name="gamma")
    assert (folder / "notes.txt").read_text() == "mine"


# 5. empty or mismatched test data

import struct

from sbn_mcu import codegen


def write_idx(folder, images: np.ndarray, labels: np.ndarray, split="t10k"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">I3I", 0x803, *images.shape) + images.tobytes())
    (folder / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, len(labels)) + labels.tobytes())
    return folder


def small_checkpoint(path, input_shape=(1, 28, 28), seed=0):
    n = int(np.prod(input_shape))
    model = randomize(architectures.mlp((n,), 10, (16,)), np.random.default_rng(seed))
    save_checkpoint(path, model, TrainConfig(), [], InputSpec(input_shape, class_names=[str(c) for c in range(10)]),
                    {"source": {"kind": "idx", "dataset": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist"}})
    return path, model


def tiny_export(path, name="fm", seed=0):
    model = randomize(architectures.mlp((784,), 10, (16,)), np.random.default_rng(seed))
    frozen = freeze(model, (1, 28, 28), meta={"dataset": "fashion-mnist"})
    return codegen.ExportFolder.create(path, frozen, name).path


@pytest.fixture
def empty_data(tmp_path):
    """A folder whose training split has every class once and whose test split is empty."""
    write_idx(tmp_path / "empty", np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8), "train")
    return write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))


def test_export_on_an_empty_test_split_writes_nothing(tmp_path, empty_data):
    ckpt, _ = small_checkpoint(tmp_path / "m.pt")
    line = one_line(sbn("export", ckpt, "--out", tmp_path / "out", "--data", empty_data))
    assert "holds no test examples" in line and str(empty_data) in line
    assert not (tmp_path / "out").exists()


def test_verify_host_on_an_empty_test_split_is_one_line(tmp_path, empty_data):
    out = tiny_export(tmp_path / "fm")
    line = one_line(sbn("verify", out, "--host", "--data", empty_data))
    assert "holds no test examples" in line and str(empty_data) in line


def test_checkpoint_input_shape_not_matching_the_dataset_is_named(tmp_path):
    ckpt, _ = small_checkpoint(tmp_path / "m.pt", input_shape=(3, 10, 10))
    line = one_line(sbn("export", ckpt, "--out", tmp_path / "out"))
    assert "takes 3x10x10" in line and "examples are 1x28x28" in line, line
    assert not (tmp_path / "out").exists()


# 6. messages

import pickle
import argparse


def test_long_name_is_refused_before_the_checkpoint_is_read(tmp_path):
    line = one_line(sbn("export", tmp_path / "missing.pt", "--out", tmp_path / "out", "--name", "m" * 65))
    assert "at most 64" in line and "--name" in line


def test_directory_as_checkpoint_says_directory(tmp_path):
    assert "is a directory" in one_line(sbn("export", tmp_path, "--out", tmp_path / "out"))


def test_foreign_pickle_is_one_line_without_torch_warnings(tmp_path):
    path = tmp_path / "foreign.pt"
    path.write_bytes(pickle.dumps(argparse.Namespace(a=1)))
    assert "corrupt" in one_line(sbn("export", path, "--out", tmp_path / "out"))
    torch.save(argparse.Namespace(a=1), tmp_path / "zip.pt")
    assert "corrupt" in one_line(sbn("export", tmp_path / "zip.pt", "--out", tmp_path / "out"))


@pytest.fixture(scope="module")
def fm_export(tmp_path_factory):
    return tiny_export(tmp_path_factory.mktemp("fm") / "fm")


def test_too_many_vectors_say_how_many_there_are(fm_export):
    line = one_line(sbn("verify", fm_export, "--qemu", "cortex-m4", "--vectors", 20000))
    assert "--vectors 10000 or fewer" in line


def test_vectors_that_overflow_flash_say_how_many_fit(fm_export):
    line = one_line(sbn("verify", fm_export, "--qemu", "cortex-m0", "--vectors", 400))
    fit = int(re.search(r"use --vectors (\d+) or fewer", line).group(1))
    assert 100 < fit < 400
    proc = sbn("verify", fm_export, "--qemu", "cortex-m0", "--vectors", fit)
    assert proc.returncode == 0, proc.stderr


def test_short_qemu_timeout_says_raise_timeout(tmp_path):
    out = tiny_export(tmp_path / "fm")  # an infer that never returns stands in for a slow model
    (out / "fm.c").write_text('#include "fm.h"\nint32_t fm_infer(const uint8_t *input, int32_t *scores)\n'
                              '{ (void)input; (void)scores; for (;;) { } }\n')
    line = one_line(sbn("verify", out, "--qemu", "cortex-m4", "--vectors", 1, "--timeout", 0.1))
    assert "within 0.1 s" in line and "raise --timeout" in line


# 7. names as given, through every command

import re


@pytest.mark.parametrize("name", ["Fm", "main", "memcpy"])
def test_mixed_case_and_libc_names_work_through_every_command(tmp_path, name):
    ckpt, _ = small_checkpoint(tmp_path / "m.pt")
    out = tmp_path / "export"
    proc = sbn("export", ckpt, "--out", out, "--name", name)
    assert proc.returncode == 0, proc.stderr
    assert (out / f"{name}.h").is_file() and (out / f"{name}.c").is_file()
    proc = sbn("verify", out, "--host", "--limit", 100, "--qemu", "cortex-m4", "--vectors", 3)
    assert proc.returncode == 0 and "0 mismatches" in proc.stdout, proc.stderr
    proc = sbn("bench", out, "--cpu", "cortex-m4", "--vectors", 2)
    assert proc.returncode == 0, proc.stderr
    proc = sbn("firmware", out, "--board", "mps2-an386", "--out", tmp_path / "fw")
    assert proc.returncode == 0, proc.stderr
    make = subprocess.run(["make", "-s", "-C", str(tmp_path / "fw")], capture_output=True, text=True)
    assert make.returncode == 0, make.stderr


@pytest.mark.parametrize("name", ["sbn", "sbn_conv", "SBN_input_q", "Sbn", "console", "Golden"])
def test_names_of_the_runtime_are_refused_before_any_work(tmp_path, name):
    # every such name is checked in test_names.py: here, that export refuses one before it reads anything
    line = one_line(sbn("export", tmp_path / "missing.pt", "--out", tmp_path / "out", "--name", name))
    assert f"model name {name!r}" in line and "choose another --name" in line
    assert not (tmp_path / "out").exists()
