"""The bit-exact chain on real Fashion-MNIST: train → export → host C → QEMU.

A tiny ``mlp`` and a tiny ``cnn`` are trained once per module (one epoch on a
few images), exported, and then checked link by link, as docs/semantics.md asks:

* torch in hard mode and the numpy reference predict the same classes (and,
  since hard mode drops the score scale, give the same integer scores);
* the host C build gives every reference score;
* ``verify_host`` and ``verify_qemu`` report no mismatch;
* a golden run in QEMU with one expected score changed reports exactly that
  score;
* the export folder is complete, its summary adds up, and exporting again from
  another working directory gives byte-identical C.

The mlp uses the installed dataset as it is. The cnn's numpy reference is
slow, so it trains and is checked on a folder holding the first images of the
real files (written as IDX by this module), given as ``data``: every later
stage then finds that folder's test split through what the run remembers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from sbn_mcu import data
from sbn_mcu.ir import reference
from sbn_mcu import toolchain
from sbn_mcu import verify
from sbn_mcu.export import export
from sbn_mcu.training.freeze import freeze
from sbn_mcu.ir.input_spec import as_spec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv2d, Dense
from sbn_mcu.training.inputs import normalise
from sbn_mcu.training.layers import hard_copy
from sbn_mcu.training import TrainConfig, load_checkpoint, train
from sbn_mcu.verify import golden
from sbn_mcu.targets import cores

NAME = "fm"
EXPORT_FILES = {f"{NAME}.h", f"{NAME}.c", f"{NAME}.sbn.npz", "summary.json", f"{NAME}.cmake", f"{NAME}.mk",
                "sbn-export.json"}
SUMMED = ("parameters", "weight_bits", "flash_bytes", "binary_macs", "integer_macs")

# arch -> (training images, test images checked, own data folder?)
SIZES = {"mlp": (2000, 1000, False), "cnn": (600, 300, True)}
QEMU_VECTORS = 8


def write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed uint8 IDX file, as in the original dataset."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def subset_dir(folder: Path, n_train: int, n_test: int) -> Path:
    """A data folder with the first images of the real Fashion-MNIST splits."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images, labels = data.load("fashion-mnist", split)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images[:n])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels[:n])
    return folder


@dataclass
class Chain:
    arch: str
    run_dir: Path
    out_dir: Path
    data_dir: Path | None
    trained: torch.nn.Module  # as returned by train()
    model: torch.nn.Module  # as loaded from model.pt
    state: dict
    report: dict
    pixels: np.ndarray  # (N, 1, 28, 28) uint8, the first N test images
    labels: np.ndarray
    scores: np.ndarray  # reference scores of the exported frozen model


@pytest.fixture(scope="module", params=sorted(SIZES))
def chain(request, tmp_path_factory) -> Chain:
    arch = request.param
    n_train, n_test, own_data = SIZES[arch]
    root = tmp_path_factory.mktemp(f"chain-{arch}")
    data_dir = subset_dir(root / "data", n_train, n_test) if own_data else None
    run_dir, out_dir = root / "run", root / "export"
    trained, metrics = train(TrainConfig(arch=arch, epochs=1, limit=n_train, data=data_dir),
                             run_dir, progress=False)
    assert len(metrics) == 1
    report = export(run_dir / "model.pt", out_dir, NAME)  # on the run's own test split
    model, state = load_checkpoint(run_dir / "model.pt")
    pixels, labels = data.load("fashion-mnist", "test", data_dir)
    pixels, labels = pixels[:n_test].reshape(n_test, 1, 28, 28), labels[:n_test]
    frozen = FrozenModel.load(out_dir / f"{NAME}.sbn.npz")
    return Chain(arch, run_dir, out_dir, data_dir, trained, model, state, report, pixels, labels,
                 reference.run(frozen, pixels))


def torch_hard(model: torch.nn.Module, pixels: np.ndarray) -> np.ndarray:
    spec = as_spec(pixels.shape[1:])
    hard = hard_copy(model, spec.scale)
    with torch.no_grad():
        return hard(normalise(spec, torch.from_numpy(pixels)).double()).numpy()


# --------------------------------------------------------------------------
# Torch ↔ reference ↔ host C ↔ QEMU


def test_torch_hard_mode_agrees_with_reference(chain):
    out = torch_hard(chain.model, chain.pixels)
    assert out.shape == chain.scores.shape == (len(chain.pixels), 10)
    np.testing.assert_array_equal(out.argmax(1), reference.predict(chain.scores))
    # hard mode drops the positive score scale: its outputs are the integer scores
    np.testing.assert_array_equal(out, chain.scores.astype(np.float64))


def test_checkpoint_is_the_trained_network(chain):
    """model.pt holds the network train() returned, hard statistics included."""
    np.testing.assert_array_equal(torch_hard(chain.trained, chain.pixels),
                                  torch_hard(chain.model, chain.pixels))


def test_reference_is_better_than_chance(chain):
    accuracy = float((reference.predict(chain.scores) == chain.labels).mean())
    assert accuracy > 0.3, f"{chain.arch}: {accuracy:.3f} after one epoch"


def test_host_c_gives_every_reference_score(chain):
    got = verify.host_scores(chain.out_dir, NAME, chain.pixels.reshape(len(chain.pixels), -1), 10)
    assert got.shape == chain.scores.shape
    bad = np.argwhere(got != chain.scores)
    assert bad.size == 0, f"{len(bad)} scores differ, first at (image, class) {bad[:5].tolist()}"


def test_verify_host_reports_no_mismatch(chain):
    n = len(chain.pixels)
    result = verify.verify_host(chain.out_dir, None, limit=n)
    expected_accuracy = float((reference.predict(chain.scores) == chain.labels).mean())
    assert result["target"] == "host"
    assert result["n"] == n
    assert result["mismatches"] == 0 and result["first_mismatches"] == []
    assert result["reference_accuracy"] == pytest.approx(expected_accuracy, abs=0)
    assert result["accuracy"] == result["reference_accuracy"]


def test_verify_qemu_cortex_m4(chain):
    result = verify.verify_qemu(chain.out_dir, "cortex-m4", vectors=QEMU_VECTORS)
    assert result["target"] == "qemu:cortex-m4"
    assert result["machine"] == cores.CORES["cortex-m4"].machine
    assert result["n"] == QEMU_VECTORS
    assert result["mismatches"] == 0
    assert result["passed"] == [True] * QEMU_VECTORS
    first = slice(0, QEMU_VECTORS)
    assert result["accuracy"] == float((reference.predict(chain.scores[first]) == chain.labels[first]).mean())
    assert result["instructions_per_inference"] > 0
    for key in ("flash_bytes", "ram_bytes", "model_flash_bytes", "model_ram_bytes"):
        assert result[key] > 0, key
    # the model's objects hold at least the constants the summary counted
    assert result["model_flash_bytes"] >= chain.report["total"]["flash_bytes"]
    assert result["flash_bytes"] >= result["model_flash_bytes"]


def test_qemu_golden_run_reports_a_changed_score(chain, tmp_path):
    """The harness must fail on one wrong expected score and name it."""
    k = 4
    pixels = chain.pixels[:k].reshape(k, -1)
    expected = chain.scores[:k].astype(np.int64).copy()
    vector = k - 1
    row = expected[vector]
    j = int(np.argmin(row))  # lowering the lowest score keeps the expected class
    assert row[j] < row.max(), "all scores equal: cannot change one without changing the class"
    original = int(row[j])
    expected[vector, j] = original - 1
    result = golden.run_golden("cortex-m4", [chain.out_dir / f"{NAME}.c"], [chain.out_dir], NAME,
                                  pixels, expected, tmp_path, timeout_s=120)
    assert result.mismatches == 1
    assert result.passed == [i != vector for i in range(k)]
    assert not result.ok
    lines = {int(m.group(1)): m.group(0) for m in re.finditer(r"^vector (\d+) .*$", result.log, re.M)}
    assert sorted(lines) == list(range(k))
    assert lines[vector].startswith(f"vector {vector} FAIL")
    assert f"score[{j}]={original} expected {original - 1}" in lines[vector]
    assert "argmax" not in lines[vector]
    assert lines[vector].count("score[") == 1
    for i in range(k):
        if i != vector:
            assert lines[i] == f"vector {i} ok"


# --------------------------------------------------------------------------
# The export folder


def test_export_folder_holds_exactly_its_files(chain):
    assert {p.name for p in chain.out_dir.iterdir()} == EXPORT_FILES
    # the staging folders used for the atomic write are gone
    assert sorted(p.name for p in chain.out_dir.parent.iterdir() if p.name.startswith(".")) == []


def test_frozen_file_is_the_frozen_checkpoint(chain):
    loaded = FrozenModel.load(chain.out_dir / f"{NAME}.sbn.npz")
    fresh = freeze(chain.model, chain.state["spec"])
    assert loaded.input_shape == (1, 28, 28)
    assert loaded.num_classes == 10 and loaded.input_size == 784
    assert loaded.meta["arch"] == chain.arch and loaded.meta["data"]["source"]["kind"] == "idx"
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in fresh.layers]
    for a, b in zip(loaded.layers, fresh.layers):
        for key, value in vars(b).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(a, key), value, err_msg=key)
            else:
                assert getattr(a, key) == value, key
    header = (chain.out_dir / f"{NAME}.h").read_text()
    assert re.search(rf"#define {NAME.upper()}_INPUT_SIZE {loaded.input_size}\b", header)
    assert re.search(rf"#define {NAME.upper()}_NUM_CLASSES {loaded.num_classes}\b", header)
    assert re.search(rf"\bint32_t {NAME}_infer\(", header)


def test_summary_totals_are_the_sums_over_layers(chain):
    summary = json.loads((chain.out_dir / "summary.json").read_text())
    assert summary == chain.report
    assert summary["name"] == NAME
    layers, total = summary["layers"], summary["total"]
    frozen = FrozenModel.load(chain.out_dir / f"{NAME}.sbn.npz")
    binary = [layer for layer in frozen.layers if isinstance(layer, (Dense, Conv2d))]
    assert len(layers) == len(binary)
    for key in SUMMED:
        assert total[key] == sum(row[key] for row in layers), key
    assert total["weight_bits"] == sum(layer.weights.size for layer in binary)
    assert total["parameters"] == total["weight_bits"] + sum(
        0 if layer.thresholds is None else layer.thresholds.size for layer in binary)
    # the first layer takes integer pixels, every other one binary activations
    assert layers[0]["integer_macs"] > 0 and layers[0]["binary_macs"] == 0
    assert all(row["integer_macs"] == 0 and row["binary_macs"] > 0 for row in layers[1:])
    shapes = frozen.shapes()
    assert layers[-1]["output"] == list(shapes[-1])
    assert total["ram_bytes"] >= max(row["ram_bytes"] for row in layers) > 0
    # the header states the same totals
    header = (chain.out_dir / f"{NAME}.h").read_text()
    m = re.search(r"Constants: (\d+) bytes of flash\. Activations: (\d+) bytes of RAM", header)
    assert m, header[:400]
    assert (int(m.group(1)), int(m.group(2))) == (total["flash_bytes"], total["ram_bytes"])


def test_export_is_byte_identical_from_other_working_directories(chain, tmp_path, monkeypatch):
    (tmp_path / "ckpt").mkdir()
    checkpoint = tmp_path / "ckpt" / "model.pt"
    checkpoint.write_bytes((chain.run_dir / "model.pt").read_bytes())
    outputs = []
    for where in ("a", "b/deeper"):
        cwd = tmp_path / where
        cwd.mkdir(parents=True)
        monkeypatch.chdir(cwd)
        relative = Path(*([".."] * len(Path(where).parts))) / "ckpt" / "model.pt"
        assert relative.is_file()
        export(relative, Path("out"), NAME)
        outputs.append(cwd / "out")
    for suffix in (".h", ".c"):
        texts = [(folder / f"{NAME}{suffix}").read_bytes() for folder in [chain.out_dir, *outputs]]
        assert texts[0] == texts[1] == texts[2], suffix
        text = texts[0].decode()
        for path in (tmp_path, chain.out_dir, chain.run_dir):
            assert str(path) not in text
    summaries = [(folder / "summary.json").read_bytes() for folder in [chain.out_dir, *outputs]]
    assert summaries[0] == summaries[1] == summaries[2]
