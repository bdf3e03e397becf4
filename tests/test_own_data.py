"""Own data end to end: a CSV, arrays and torch Datasets from Python through train → export → verify,
and data that does not fit a model refused in one line."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sbn_mcu import data
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.training import TrainConfig, load_checkpoint, train

CLASSES = ("left", "right", "up")


def sbn(*args, ok=True):
    run = subprocess.run([sys.executable, "-m", "sbn_mcu", *map(str, args)], capture_output=True, text=True)
    if ok:
        assert run.returncode == 0, run.stderr
    return run


def one_line(run) -> str:
    assert run.returncode != 0 and run.stdout == "" or run.returncode != 0, run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0], run.stderr
    return lines[0]


def gestures(n: int, rng: np.random.Generator):
    """int16 windows of 2 channels x 6 steps; the class shows in which channel rises or falls."""
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 300, (n, 2, 6))
    ramp = np.linspace(-1, 1, 6) * 4000
    x[y == 0, 0] += ramp
    x[y == 1, 0] -= ramp
    x[y == 2, 1] += ramp + 9000
    return np.clip(np.round(x), -32768, 32767).astype(np.int16), y


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A CSV with a header and string labels, held-out test split, per-channel normalisation."""
    root = tmp_path_factory.mktemp("csv")
    x, y = gestures(600, np.random.default_rng(0))
    rows = ["label," + ",".join(f"f{i}" for i in range(12))]
    rows += [f"{CLASSES[c]}," + ",".join(map(str, row)) for c, row in zip(y, x.reshape(len(x), -1))]
    (root / "gestures.csv").write_text("\n".join(rows) + "\n")
    sbn("train", "--data", root / "gestures.csv", "--test-split", 0.25, "--input-shape", "2x6",
        "--normalize", "per-channel", "--epochs", 3, "--batch-size", 32, "--val-images", 0, "--out", root / "run")
    sbn("export", root / "run" / "model.pt", "--out", root / "export", "--name", "gest")
    return root


def test_a_csv_trains_exports_and_verifies_bit_exact(csv_run):
    result = json.loads(sbn("verify", csv_run / "export", "--host", "--json").stdout)
    assert result["mismatches"] == 0 and result["n"] == 150
    assert [row["name"] for row in result["per_class"]] == list(CLASSES)
    assert result["accuracy"] > 0.9
    qemu = json.loads(sbn("verify", csv_run / "export", "--qemu", "cortex-m0", "--vectors", 8, "--json").stdout)
    assert qemu["mismatches"] == 0
    model = FrozenModel.load(csv_run / "export" / "gest.sbn.npz")
    assert (model.spec.dtype, model.spec.layout, model.spec.normalisation) == ("int16", "cl", "per-channel")
    header = (csv_run / "export" / "gest.h").read_text()
    assert "typedef int16_t gest_input_t;" in header and "GEST_CLASS_RIGHT = 1" in header
    assert '"up"' in (csv_run / "export" / "gest.c").read_text()


def test_predict_and_golden_print_class_names(csv_run, tmp_path):
    x, y = gestures(4, np.random.default_rng(9))
    np.save(tmp_path / "x.npy", x)
    rows = json.loads(sbn("predict", csv_run / "export", tmp_path / "x.npy", "--json").stdout)
    assert [r["name"] for r in rows] == [CLASSES[r["class"]] for r in rows] and len(rows) == 4
    sbn("golden", csv_run / "export", "--out", tmp_path / "golden", "--count", 5)
    golden = json.loads((tmp_path / "golden" / "golden.json").read_text())
    assert golden["input_type"] == "int16" and set(golden["class_names"]) <= set(CLASSES)


def npz(path, x_shape, dtype, classes=3, n=30):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 100, (n, *x_shape)).astype(dtype)
    y = np.arange(n) % classes
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    return path


@pytest.mark.parametrize("shape, dtype, classes, words", [
    ((2, 7), np.int16, 3, "examples are 2x7, but the model takes 2x6"),
    ((2, 6), np.uint8, 3, "holds uint8 values, but the model takes int16"),
    ((2, 6), np.int16, 4, "has 4 classes, but the model has 3"),
])
def test_data_that_does_not_fit_the_model_is_one_line(csv_run, tmp_path, shape, dtype, classes, words):
    other = npz(tmp_path / "other.npz", shape, dtype, classes)
    for command in (("verify", csv_run / "export", "--host"), ("golden", csv_run / "export", "--out", tmp_path / "g")):
        line = one_line(sbn(*command, "--data", other, ok=False))
        assert words in line, line


def test_train_takes_arrays_and_torch_datasets_and_the_run_keeps_them(tmp_path):
    x, y = gestures(200, np.random.default_rng(2))
    config = TrainConfig(arch="dense:16", epochs=1, batch_size=32, val_images=0)
    arrays = data.from_arrays(x[:150], y[:150], x[150:], y[150:], class_names=CLASSES)
    train(config, tmp_path / "arrays", progress=False, dataset=arrays)
    pairs = [torch.utils.data.TensorDataset(torch.from_numpy(a), torch.from_numpy(b))
             for a, b in ((x[:150], y[:150]), (x[150:], y[150:]))]
    train(config, tmp_path / "torch", progress=False, dataset=tuple(pairs))
    for run in ("arrays", "torch"):
        _, state = load_checkpoint(tmp_path / run / "model.pt")
        assert state["spec"].dtype == "int16" and state["spec"].shape == (2, 6)
        kept = data.reopen(state["data"]["source"])  # the run folder keeps arrays from Python
        np.testing.assert_array_equal(kept.x_test, x[150:])
        assert kept.digest() == state["data"]["digest"]
    sbn("export", tmp_path / "arrays" / "model.pt", "--out", tmp_path / "export")
    assert json.loads(sbn("verify", tmp_path / "export", "--host", "--json").stdout)["mismatches"] == 0


def test_a_model_too_big_for_its_data_is_refused_before_training(tmp_path):
    x, y = gestures(60, np.random.default_rng(3))
    np.savez(tmp_path / "g.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    line = one_line(sbn("train", "--data", tmp_path / "g.npz", "--arch", "conv3:8,pool2,pool2,pool2",
                        "--out", tmp_path / "r", ok=False))
    assert "pool2 takes 1 below 1" in line
    assert not (tmp_path / "r").exists()


def test_summary_before_training_equals_the_export_and_says_if_it_fits(csv_run):
    before = json.loads(sbn("summary", "--data", csv_run / "gestures.csv", "--test-split", 0.25, "--input-shape", "2x6",
                            "--normalize", "per-channel", "--arch", "mlp", "--board", "microbit", "--json").stdout)
    exported = json.loads((csv_run / "export" / "summary.json").read_text())
    assert before["layers"] == exported["layers"] and before["total"] == exported["total"]
    assert before["input"]["shape"] == [2, 6] and before["board"]["flash"]["fits"]
    for source in (csv_run / "run" / "model.pt", csv_run / "export"):
        assert json.loads(sbn("summary", source, "--json").stdout)["total"] == exported["total"]
    text = sbn("summary", "--data", csv_run / "gestures.csv", "--test-split", 0.25, "--input-shape", "2x6",
               "--arch", "dense:9000,dense:9000", "--board", "microbit").stdout
    assert "microbit: flash does NOT fit: needs about" in text and "of 262,144 B" in text
