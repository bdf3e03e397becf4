"""The generated C from Python (`sbn_mcu.host`), `sbn-mcu predict` and the
per-class report of `verify --host`.

host.load() compiles the export's host program (the one verify --host runs) once,
into a cache keyed by the C's content; its scores must equal the numpy reference's,
and its classes the class NAME_infer returned.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from sbn_mcu import host
from sbn_mcu.cli import main
from sbn_mcu.codegen import ExportFolder
from sbn_mcu.errors import SbnError
from sbn_mcu.ir import reference
from sbn_mcu.verify import host as host_program
from test_golden import NAME, invoke, one_error, write_export


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SBN_MCU_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SBN_MCU_DEBUG", raising=False)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("export") / "fm")


def test_scores_equal_the_reference(export_dir):
    model = host.load(export_dir)
    frozen = ExportFolder.open(export_dir).model
    x = np.random.default_rng(3).integers(0, 256, (40, 1, 28, 28), dtype=np.uint8)
    scores = model.scores(x)
    assert scores.dtype == np.int32 and scores.shape == (40, 10)
    assert (scores == reference.run(frozen, x)).all()
    assert (model.scores(x.reshape(40, -1)) == scores).all()
    classes = model.predict(x)
    assert classes.dtype == np.int64 and (classes == reference.predict(scores)).all()


def test_compiles_once_on_first_use(export_dir, monkeypatch, tmp_path):
    calls = []
    real = host_program.compile_host
    monkeypatch.setattr(host_program, "compile_host", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = host.load(export_dir)
    assert calls == []  # loading compiles nothing
    x = np.zeros((2, 784), np.uint8)
    first = model.scores(x)
    assert calls == [1]
    assert (host.load(export_dir).scores(x) == first).all()
    assert calls == [1]  # the cache answers the second load
    assert [p.name for p in (tmp_path / "cache").glob("*/*") if p.is_file()] == [NAME]


def test_a_single_header_export(tmp_path):
    out = write_export(tmp_path / "single", single_header=True, seed=4)
    x = np.random.default_rng(5).integers(0, 256, (5, 784), dtype=np.uint8)
    assert (host.load(out).scores(x) == reference.run(ExportFolder.open(out).model, x)).all()


@pytest.mark.parametrize("x, words", [(np.zeros((2, 784), np.float32), "uint8"),
                                      (np.zeros((2, 783), np.uint8), "(N, 784) or (N, 1, 28, 28)"),
                                      (np.zeros((2, 28, 28), np.uint8), "shape")])
def test_bad_batches_are_one_line(export_dir, x, words):
    with pytest.raises(SbnError, match=None) as err:
        host.load(export_dir).scores(x)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_predict_prints_the_class(export_dir, tmp_path):
    frozen = ExportFolder.open(export_dir).model
    x = np.random.default_rng(6).integers(0, 256, (2, 784), dtype=np.uint8)
    expected = reference.run(frozen, x)
    np.save(tmp_path / "batch.npy", x)
    np.savetxt(tmp_path / "one.csv", x[:1], fmt="%d", delimiter=",")
    result = invoke("predict", export_dir, tmp_path / "batch.npy", tmp_path / "one.csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    classes = reference.predict(expected)
    assert lines == [f"{tmp_path / 'batch.npy'}[0]: {classes[0]} (class {classes[0]}) scores {expected[0].tolist()}",
                     f"{tmp_path / 'batch.npy'}[1]: {classes[1]} (class {classes[1]}) scores {expected[1].tolist()}",
                     f"{tmp_path / 'one.csv'}: {classes[0]} (class {classes[0]}) scores {expected[0].tolist()}"]


def test_predict_reads_an_image(export_dir, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(7).integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "shirt.png")
    result = invoke("predict", export_dir, tmp_path / "shirt.png")
    assert result.exit_code == 0, result.output
    expected = reference.run(ExportFolder.open(export_dir).model, pixels.reshape(1, -1))[0]
    assert result.output.strip().endswith(f"scores {expected.tolist()}")


def test_predict_bad_input_is_one_line(export_dir, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.uint8))
    assert "shape" in one_error(invoke("predict", export_dir, tmp_path / "bad.npy"))
    (tmp_path / "bad.csv").write_text("1,2,3\n")
    assert "784 values" in one_error(invoke("predict", export_dir, tmp_path / "bad.csv"))
    (tmp_path / "notes.txt").write_text("x")
    assert ".npy" in one_error(invoke("predict", export_dir, tmp_path / "notes.txt"))


def test_verify_host_reports_per_class(export_dir, tmp_path, monkeypatch):
    result = invoke("verify", export_dir, "--host", "--limit", 60)
    assert result.exit_code == 0, result.output
    assert "accuracy per class: 0 " in result.output
    result = invoke("verify", export_dir, "--host", "--limit", 60, "--json", "--report-dir", tmp_path / "report")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"n", "mismatches", "first_mismatches", "accuracy", "reference_accuracy"} <= set(report)
    assert "mismatch_scores" not in report
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 60
    assert [row["n"] for row in report["per_class"]] == confusion.sum(axis=1).tolist()
    written = json.loads((tmp_path / "report" / "confusion.json").read_text())
    assert written["confusion"] == report["confusion"]
    assert not (export_dir / "confusion.json").exists()


def test_verify_host_prints_the_first_mismatching_scores(tmp_path):
    out = write_export(tmp_path / "wrong", seed=8)
    original = (out / f"{NAME}.c").read_text()
    (out / f"{NAME}.c").write_text(  # off by one in score 1
        f"#define {NAME}_infer {NAME}_infer_real\n{original}\n#undef {NAME}_infer\n"
        f"int32_t {NAME}_infer(const uint8_t *input, int32_t *scores);\n"
        f"int32_t {NAME}_infer(const uint8_t *input, int32_t *scores)\n{{\n"
        f"    int32_t c = {NAME}_infer_real(input, scores);\n    scores[1] += 1;\n    return c;\n}}\n")
    result = invoke("verify", out, "--host", "--limit", 3)
    assert result.exit_code == 1
    frozen = ExportFolder.open(out).model
    from sbn_mcu.verify.data import test_split

    pixels, _ = test_split(frozen, None, 3)
    expected = reference.run(frozen, pixels)
    got = expected.copy()
    got[:, 1] += 1
    assert f"  input 0: expected {expected[0].tolist()}, got {got[0].tolist()}" in result.output.splitlines()
    assert f"  input 2: expected {expected[2].tolist()}, got {got[2].tolist()}" in result.output.splitlines()


def test_predict_json(export_dir, tmp_path):
    x = np.random.default_rng(9).integers(0, 256, (1, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "one.npy", x)
    result = invoke("predict", export_dir, tmp_path / "one.npy", "--json")
    assert result.exit_code == 0, result.output
    expected = reference.run(ExportFolder.open(export_dir).model, x.reshape(1, -1))[0]
    assert json.loads(result.output) == [{"file": str(tmp_path / "one.npy"), "index": 0,
                                          "class": int(np.argmax(expected)), "name": str(np.argmax(expected)),
                                          "scores": expected.tolist()}]


def test_an_image_without_pillow_says_how_to_install_it(export_dir, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails
    (tmp_path / "shirt.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert "pip install pillow" in one_error(invoke("predict", export_dir, tmp_path / "shirt.png"))
