"""`sbn-mcu golden`: golden vectors for the user's own firmware.

The generated NAME_golden_check() is compiled with the host gcc and with
arm-none-eabi-gcc and run on QEMU Cortex-M0 and M4: all vectors match, and a
corrupted expected score is reported with its index. The model is a small
random MLP named with capitals, so that the case of NAME is kept.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from support import randomize
from sbn_mcu import codegen, toolchain
from sbn_mcu.cli import main
from sbn_mcu.ir import reference
from sbn_mcu.targets.cores import CORES
from sbn_mcu.toolchain import firmware_dir
from sbn_mcu.toolchain.cross import build_objects
from sbn_mcu.toolchain.qemu import run_status
from sbn_mcu.training import architectures as models
from sbn_mcu.training import freeze
from sbn_mcu.verify.golden_files import golden_files

NAME = "FmNet"
COUNT = 6


def write_export(path: Path, widths=(784, 64, 10), seed: int = 1, name: str = NAME,
                 single_header: bool = False) -> Path:
    frozen = freeze.freeze(randomize(models.mlp((widths[0],), widths[-1], widths[1:-1]), np.random.default_rng(seed)), (1, 28, 28),
                           meta={"dataset": "fashion-mnist"})
    return codegen.ExportFolder.create(path, frozen, name, single_header).path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("export") / "fm")


@pytest.fixture(scope="module")
def golden_dir(export_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("golden") / "golden"
    result = invoke("golden", export_dir, "--out", out, "--count", COUNT)
    assert result.exit_code == 0, result.output
    return out


MAIN_HOST = r"""
#include <stdio.h>
#include "NAME_golden.h"

static void report(uint32_t index, const int32_t *got, const int32_t *expected)
{
    printf("mismatch %u got %d expected %d\n", (unsigned)index, (int)got[0], (int)expected[0]);
}

int main(void)
{
    int32_t mismatches = NAME_golden_check(report);
    printf("mismatches %d\n", (int)mismatches);
    return mismatches != NAME_golden_check(NULL);
}
"""

MAIN_TARGET = r"""
#include <stddef.h>
#include "console.h"
#include "NAME_golden.h"

static void report(uint32_t index, const int32_t *got, const int32_t *expected)
{
    (void)got;
    (void)expected;
    sbn_puts("mismatch ");
    sbn_put_u32(index);
    sbn_puts("\n");
}

int main(void)
{
    int32_t mismatches = NAME_golden_check(report);
    sbn_puts("mismatches ");
    sbn_put_i32(mismatches);
    sbn_puts("\n");
    return mismatches == 0 ? SBN_EXIT_OK : SBN_EXIT_MISMATCH;
}
"""


def run_host(export_dir: Path, golden: Path, tmp: Path) -> str:
    main_c = tmp / "main.c"
    main_c.write_text(MAIN_HOST.replace("NAME", NAME))
    exe = toolchain.compile_host([export_dir / f"{NAME}.c", golden / f"{NAME}_golden.c", main_c], tmp / "check",
                                 include_dirs=[export_dir, golden])
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_writes_the_c_the_unity_test_and_the_arrays(export_dir, golden_dir):
    names = sorted(p.name for p in golden_dir.iterdir())
    assert names == sorted([f"{NAME}_golden.h", f"{NAME}_golden.c", f"test_{NAME}_golden.c",
                            "golden.npz", "golden.json"])
    model = codegen.ExportFolder.open(export_dir).model
    with np.load(golden_dir / "golden.npz") as arrays:
        inputs, scores, classes = arrays["inputs"], arrays["scores"], arrays["classes"]
    assert inputs.dtype == np.uint8 and inputs.shape == (COUNT, 784)
    assert scores.dtype == np.int32 and (scores == reference.run(model, inputs)).all()
    assert (classes == reference.predict(scores)).all()
    info = json.loads((golden_dir / "golden.json").read_text())
    assert {k: info[k] for k in ("name", "count", "input_size", "num_classes")} == \
        {"name": NAME, "count": COUNT, "input_size": 784, "num_classes": 10}
    assert info["scores"] == scores.tolist() and info["classes"] == classes.tolist()
    header = (golden_dir / f"{NAME}_golden.h").read_text()
    assert f"int32_t {NAME}_golden_check(void (*report)(uint32_t index, const int32_t *got, " \
           "const int32_t *expected));" in header
    source = (golden_dir / f"{NAME}_golden.c").read_text()
    assert f"static const {NAME}_input_t" in source and "#include <stdio.h>" not in source
    unity = (golden_dir / f"test_{NAME}_golden.c").read_text()
    assert '#include "unity.h"' in unity and f"{NAME}_golden_check(" in unity and "RUN_TEST(" in unity


def test_check_passes_on_the_host(export_dir, golden_dir, tmp_path):
    assert run_host(export_dir, golden_dir, tmp_path).splitlines() == ["mismatches 0"]


def test_a_corrupted_score_is_reported_with_its_index(export_dir, tmp_path):
    model = codegen.ExportFolder.open(export_dir).model
    inputs = np.random.default_rng(0).integers(0, 256, (5, 784), dtype=np.uint8)
    scores = reference.run(model, inputs)
    scores[3, 0] += 1
    golden = tmp_path / "golden"
    golden.mkdir()
    for fname, content in golden_files(NAME, inputs, scores).items():
        (golden / fname).write_bytes(content if isinstance(content, bytes) else content.encode())
    out = run_host(export_dir, golden, tmp_path)
    assert out.splitlines() == [f"mismatch 3 got {scores[3, 0] - 1} expected {scores[3, 0]}", "mismatches 1"]


@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m4"])
def test_check_passes_on_qemu(export_dir, golden_dir, tmp_path, core):
    main_c = tmp_path / "main.c"
    main_c.write_text(MAIN_TARGET.replace("NAME", NAME))
    core = CORES[core]
    elf, _ = build_objects(core, [export_dir / f"{NAME}.c", golden_dir / f"{NAME}_golden.c", main_c],
                           [export_dir, golden_dir], tmp_path / "build", [])
    assert run_status(elf, core, timeout_s=120) == (0, "mismatches 0\n")


UNITY_STUB = r"""
/* Just enough of Unity's interface to build and run the generated test. */
#include <stdio.h>
static int unity_failures;
#define UNITY_BEGIN() (unity_failures = 0)
#define UNITY_END() (printf("failures %d\n", unity_failures), unity_failures)
#define RUN_TEST(f) (setUp(), f(), tearDown())
#define TEST_ASSERT_EQUAL_INT32_MESSAGE(e, a, m) \
    do { if ((e) != (a)) { unity_failures++; printf("FAIL %s\n", m); return; } } while (0)
void setUp(void);
void tearDown(void);
"""


def test_the_unity_test_builds_against_the_unity_interface(export_dir, golden_dir, tmp_path):
    (tmp_path / "unity.h").write_text(UNITY_STUB)
    exe = toolchain.compile_host([export_dir / f"{NAME}.c", golden_dir / f"{NAME}_golden.c",
                                  golden_dir / f"test_{NAME}_golden.c"], tmp_path / "unity_test",
                                 include_dirs=[export_dir, golden_dir, tmp_path])
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "failures 0", run.stdout


def test_own_inputs_from_npy(export_dir, tmp_path):
    inputs = np.random.default_rng(2).integers(0, 256, (3, 1, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "mine.npy", inputs)
    result = invoke("golden", export_dir, "--out", tmp_path / "g", "--inputs", tmp_path / "mine.npy")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "g" / "golden.npz") as arrays:
        assert (arrays["inputs"] == inputs.reshape(3, -1)).all()
    assert run_host(export_dir, tmp_path / "g", tmp_path).splitlines() == ["mismatches 0"]


def test_bad_inputs_and_foreign_folders_get_one_line(export_dir, tmp_path):
    np.save(tmp_path / "float.npy", np.zeros((2, 784), np.float32))
    assert "uint8" in one_error(invoke("golden", export_dir, "--out", tmp_path / "g", "--inputs",
                                       tmp_path / "float.npy"))
    np.save(tmp_path / "shape.npy", np.zeros((2, 700), np.uint8))
    assert "(N, 784) or (N, 1, 28, 28)" in one_error(invoke("golden", export_dir, "--out", tmp_path / "g",
                                                            "--inputs", tmp_path / "shape.npy"))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert "notes.txt" in one_error(invoke("golden", export_dir, "--out", foreign, "--count", 2))
    assert (foreign / "notes.txt").read_text() == "mine"
    assert "holds other files" in one_error(invoke("golden", export_dir, "--out", export_dir, "--count", 2))
