"""The ``sbn-mcu`` command line, end to end.

What users see is a real process: the main cases run ``python -m sbn_mcu``
with ``subprocess``; the other bad inputs go through click's ``CliRunner``.
Every bad input must end with a non-zero exit code, exactly one
``error: ...`` line on stderr, and no traceback anywhere. An error that goes
through the CLI's "internal error" fallback counts as a failure too: that
path is for bugs, not for inputs we know about.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import sbn_mcu
from sbn_mcu import data
from sbn_mcu.training import architectures as models
from sbn_mcu.cli import main
from sbn_mcu.training import load_checkpoint

NAME = "fm"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRAIN_LIMIT = 500
V_END = 50.0


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("SBN_MCU_DEBUG", raising=False)


def sbn(*args, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m sbn_mcu ARGS`` in a fresh process."""
    environ = {k: v for k, v in os.environ.items() if k != "SBN_MCU_DEBUG"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "sbn_mcu", *map(str, args)], capture_output=True,
                          text=True, env=environ, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)


def invoke(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_error(returncode: int, stdout: str, stderr: str) -> str:
    """The message of the single ``error:`` line, after checking the rules."""
    print(f"exit {returncode}; stderr: {stderr!r}")  # shown when a test fails
    assert returncode != 0, (stdout, stderr)
    assert "Traceback" not in stdout and "Traceback" not in stderr, stdout + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "internal error" not in lines[0], lines[0]
    assert "\x1b[" not in lines[0]  # no colour codes when stderr is not a terminal
    return lines[0][len("error: "):]


def proc_error(proc: subprocess.CompletedProcess) -> str:
    return one_error(proc.returncode, proc.stdout, proc.stderr)


def runner_error(result) -> str:
    # a bug would surface as an exception other than the SystemExit of sys.exit(1)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return one_error(result.exit_code, result.stdout, result.stderr)


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


# --------------------------------------------------------------------------
# One training run and one export, through real processes


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    proc = sbn("train", "--arch", "mlp", "--limit", TRAIN_LIMIT, "--epochs", 1, "--v-end", V_END,
               "--out", run_dir)
    return proc, run_dir


@pytest.fixture(scope="module")
def checkpoint(cli_run) -> Path:
    proc, run_dir = cli_run
    assert proc.returncode == 0, proc.stderr
    return run_dir / "model.pt"


@pytest.fixture(scope="module")
def cli_export(checkpoint, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("cli-export") / "export"
    proc = sbn("export", checkpoint, "--out", out_dir, "--name", NAME, "--json")
    return proc, out_dir


@pytest.fixture(scope="module")
def export_dir(cli_export) -> Path:
    proc, out_dir = cli_export
    assert proc.returncode == 0, proc.stderr
    return out_dir


@pytest.fixture
def export_copy(export_dir, tmp_path) -> Path:
    """A copy of the export folder that a test may damage."""
    return Path(shutil.copytree(export_dir, tmp_path / "export"))


def test_train_writes_model_metrics_and_curves(cli_run):
    proc, run_dir = cli_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert {"model.pt", "metrics.json", "curves.png"} <= {p.name for p in run_dir.iterdir()}
    assert not [p.name for p in run_dir.iterdir() if ".tmp" in p.name]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["config"]["limit"] == TRAIN_LIMIT and metrics["config"]["epochs"] == 1
    assert metrics["config"]["arch"] == "mlp"
    epochs = metrics["epochs"]
    assert len(epochs) == 1 and epochs[0]["epoch"] == 1
    for record in epochs:
        for key in ("soft_accuracy", "hard_accuracy"):
            assert isinstance(record[key], float) and 0.0 <= record[key] <= 1.0, key
        assert record["v"] == pytest.approx(V_END, rel=1e-9)  # the schedule ends at --v-end
    assert epochs[-1]["hard_accuracy"] > 0.2  # better than chance (0.1) after one epoch

    # the last line reports the final hard accuracy from metrics.json
    assert f"{100 * epochs[-1]['hard_accuracy']:.2f}%" in proc.stdout
    assert (run_dir / "curves.png").read_bytes()[:8] == PNG_MAGIC

    _, state = load_checkpoint(run_dir / "model.pt")
    assert state["arch"] == "mlp" and state["metrics"] == epochs


def test_export_prints_the_summary_it_writes(cli_export):
    proc, out_dir = cli_export
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""
    assert {p.name for p in out_dir.iterdir()} == {f"{NAME}.h", f"{NAME}.c", f"{NAME}.sbn.npz", "summary.json",
                                                  f"{NAME}.cmake", f"{NAME}.mk", "sbn-export.json"}
    assert json.loads(proc.stdout) == json.loads((out_dir / "summary.json").read_text())


def test_verify_host_json_through_a_process(export_dir):
    proc = sbn("verify", export_dir, "--host", "--limit", 200, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["target"] == "host" and result["n"] == 200
    assert result["mismatches"] == 0
    assert result["accuracy"] == result["reference_accuracy"]


def test_verify_host_and_qemu_text(export_dir):
    result = invoke("verify", export_dir, "--host", "--limit", 50, "--qemu", "cortex-m4", "--vectors", 3)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("host: 50 inputs, 0 mismatches")
    assert any(line.startswith("qemu:cortex-m4: 3 inputs, 0 mismatches") for line in lines)
    assert "  . . ." in lines
    m = re.search(r"([\d,]+) instructions per inference on mps2-an386", result.stdout)
    assert m and int(m.group(1).replace(",", "")) > 0


def test_verify_fails_when_the_c_is_wrong(export_copy):
    """A C build that is off by one in one score: exit 1, and every input counted."""
    original = (export_copy / f"{NAME}.c").read_text()
    (export_copy / f"{NAME}.c").write_text(
        f"#define {NAME}_infer {NAME}_infer_real\n{original}\n#undef {NAME}_infer\n"
        f"int32_t {NAME}_infer(const uint8_t *input, int32_t *scores)\n{{\n"
        f"    int32_t c = {NAME}_infer_real(input, scores);\n    scores[1] += 1;\n    return c;\n}}\n")
    result = invoke("verify", export_copy, "--host", "--limit", 20, "--qemu", "cortex-m4", "--vectors", 2)
    msg = runner_error(result)
    assert "disagree" in msg or "mismatch" in msg
    assert "host: 20 inputs, 20 mismatches" in result.stdout
    assert "qemu:cortex-m4: 2 inputs, 2 mismatches" in result.stdout
    assert "  F F" in result.stdout.splitlines()


# --------------------------------------------------------------------------
# Bad checkpoints


def test_missing_checkpoint(tmp_path):
    missing = tmp_path / "nowhere" / "model.pt"
    proc = sbn("export", missing, "--out", tmp_path / "out", "--name", NAME)
    msg = proc_error(proc)
    assert str(missing) in msg and "does not exist" in msg
    assert not (tmp_path / "out").exists()


def _random_bytes(path: Path, checkpoint: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _truncated(path: Path, checkpoint: Path) -> None:
    blob = checkpoint.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])


def _not_ours(path: Path, checkpoint: Path) -> None:
    torch.save({"a": 1}, path)


def _a_list(path: Path, checkpoint: Path) -> None:
    torch.save([1, 2, 3], path)


def _wrong_version(path: Path, checkpoint: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    state["version"] = 99
    torch.save(state, path)


def _wrong_architecture(path: Path, checkpoint: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    state["architecture"] = models.describe(models.cnn((1, 28, 28), 10))
    torch.save(state, path)


def _empty(path: Path, checkpoint: Path) -> None:
    path.write_bytes(b"")


BAD_CHECKPOINTS = {
    "random-bytes": (_random_bytes, "corrupt"),
    "truncated": (_truncated, "corrupt"),
    "empty": (_empty, "corrupt"),
    "not-an-sbn-checkpoint": (_not_ours, "not an sbn-mcu checkpoint"),
    "a-list": (_a_list, "not an sbn-mcu checkpoint"),
    "wrong-version": (_wrong_version, "version"),
    "wrong-architecture": (_wrong_architecture, "architecture"),
}


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINTS))
def test_bad_checkpoint(case, checkpoint, tmp_path):
    make, words = BAD_CHECKPOINTS[case]
    bad = tmp_path / "model.pt"
    make(bad, checkpoint)
    msg = runner_error(invoke("export", bad, "--out", tmp_path / "out", "--name", NAME))
    assert str(bad) in msg
    assert words in msg
    assert not (tmp_path / "out").exists()


def test_truncated_checkpoint_through_a_process(checkpoint, tmp_path):
    bad = tmp_path / "model.pt"
    _truncated(bad, checkpoint)
    msg = proc_error(sbn("export", bad, "--out", tmp_path / "out"))
    assert "corrupt" in msg or "truncated" in msg
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# Missing dataset


def test_train_without_dataset_says_how_to_fix_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = sbn("train", "--data-dir", empty, "--limit", 10, "--epochs", 1, "--out", tmp_path / "run")
    msg = proc_error(proc)
    assert str(empty) in msg
    assert "--data-dir" in msg
    assert not (tmp_path / "run").exists()


def test_train_with_missing_data_dir(tmp_path):
    missing = tmp_path / "missing"
    msg = runner_error(invoke("train", "--data-dir", missing, "--limit", 10, "--epochs", 1,
                              "--out", tmp_path / "run"))
    assert str(missing) in msg and "--data-dir" in msg
    assert not (tmp_path / "run").exists()


def test_default_dataset_missing_mentions_apt_get(tmp_path, monkeypatch):
    monkeypatch.setitem(data.DEFAULT_DIRS, "fashion-mnist", tmp_path / "not-installed")
    msg = runner_error(invoke("train", "--limit", 10, "--epochs", 1, "--out", tmp_path / "run"))
    assert "apt-get install" in msg and "--data-dir" in msg
    assert not (tmp_path / "run").exists()


def test_verify_without_dataset(export_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = runner_error(invoke("verify", export_dir, "--host", "--data", empty))
    assert str(empty) in msg


# --------------------------------------------------------------------------
# Missing tools, broken or hanging C


def test_missing_gcc_says_apt_get_install(export_dir):
    proc = sbn("verify", export_dir, "--host", "--limit", 5, env={"SBN_MCU_GCC": "/nonexistent/gcc"})
    msg = proc_error(proc)
    assert "apt-get install" in msg
    assert "/nonexistent/gcc" in msg and "SBN_MCU_GCC" in msg


def test_missing_qemu_names_qemu_system_arm(export_dir):
    msg = runner_error(invoke("verify", export_dir, "--qemu", "cortex-m4", "--vectors", 1,
                              env={"SBN_MCU_QEMU": "/nonexistent"}))
    assert "qemu-system-arm" in msg and "apt-get install" in msg


def test_missing_arm_gcc_names_its_package(export_dir):
    msg = runner_error(invoke("verify", export_dir, "--qemu", "cortex-m4", "--vectors", 1,
                              env={"SBN_MCU_ARM_GCC": "/nonexistent/arm-none-eabi-gcc"}))
    assert "arm-none-eabi-gcc" in msg and "apt-get install" in msg and "gcc-arm-none-eabi" in msg


def test_c_that_does_not_compile(export_copy):
    (export_copy / f"{NAME}.c").write_text(
        f'#include "{NAME}.h"\nint32_t {NAME}_infer(const uint8_t *input, int32_t *scores)\n'
        "{\n    return undeclared_value;\n}\n")
    msg = runner_error(invoke("verify", export_copy, "--host", "--limit", 5))
    assert "undeclared_value" in msg or f"{NAME}.c" in msg


HANGING_C = """\
#include "{name}.h"

int32_t {name}_infer(const uint8_t *input, int32_t *scores)
{{
    volatile uint32_t spin = 0u;
    (void)input;
    (void)scores;
    for (;;) {{
        spin++;
    }}
}}
"""


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def test_qemu_hang_is_a_timeout(export_copy, tmp_path):
    (export_copy / f"{NAME}.c").write_text(HANGING_C.format(name=NAME))
    scratch = tmp_path / "scratch"  # the firmware is built under TMPDIR: QEMU's command line names it
    scratch.mkdir()
    started = time.monotonic()
    proc = sbn("verify", export_copy, "--qemu", "cortex-m4", "--vectors", 1, "--timeout", 2,
               env={"TMPDIR": str(scratch)}, timeout=120)
    elapsed = time.monotonic() - started
    msg = proc_error(proc)
    assert re.search(r"\b2(\.0+)? ?s\b", msg), msg  # names the limit
    assert "qemu" in msg.lower() and "cortex-m4" in msg
    assert 2 <= elapsed < 40, elapsed
    assert processes_mentioning(str(scratch)) == []  # the hung QEMU was killed
    assert list(scratch.iterdir()) == []  # and its build folder removed


# --------------------------------------------------------------------------
# Export's output folder


@pytest.mark.parametrize("name", ["int", "1abc", "my-model", "a b", "", "static"])
def test_invalid_name_writes_nothing(name, checkpoint, tmp_path):
    out = tmp_path / "out"
    msg = runner_error(invoke("export", checkpoint, "--out", out, "--name", name))
    assert repr(name) in msg or "name" in msg
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_out_is_an_existing_file(checkpoint, tmp_path):
    out = tmp_path / "out"
    content = np.random.default_rng(1).integers(0, 256, 100, dtype=np.uint8).tobytes()
    out.write_bytes(content)
    before = out.stat().st_mtime_ns
    msg = runner_error(invoke("export", checkpoint, "--out", out, "--name", NAME))
    assert str(out) in msg
    assert out.is_file() and out.read_bytes() == content and out.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind


def _bad_name(checkpoint: Path, tmp_path: Path) -> list:
    return [checkpoint, "--name", "int"]


def _bad_checkpoint(checkpoint: Path, tmp_path: Path) -> list:
    bad = tmp_path / "bad.pt"
    _truncated(bad, checkpoint)
    return [bad, "--name", NAME]


def _no_data(checkpoint: Path, tmp_path: Path) -> list:
    """Fails late: after the checkpoint is loaded and frozen."""
    empty = tmp_path / "empty"
    empty.mkdir()
    return [checkpoint, "--name", NAME, "--data-dir", empty]


@pytest.mark.parametrize("failure", [_bad_name, _bad_checkpoint, _no_data], ids=lambda f: f.__name__[1:])
def test_failed_export_keeps_the_earlier_folder(failure, checkpoint, export_dir, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    out = Path(shutil.copytree(export_dir, work / "out"))
    (out / "notes.txt").write_text("mine\n")
    before = snapshot(out)
    args = failure(checkpoint, tmp_path)
    runner_error(invoke("export", *args, "--out", out))
    assert snapshot(out) == before
    assert sorted(p.name for p in work.iterdir()) == ["out"]


def test_export_again_into_its_own_folder(checkpoint, export_dir, tmp_path):
    out = Path(shutil.copytree(export_dir, tmp_path / "out"))
    result = invoke("export", checkpoint, "--out", out, "--name", NAME)
    assert result.exit_code == 0, result.output
    assert snapshot(out) == snapshot(export_dir)
    assert f"wrote {out}/{NAME}.h" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------
# verify's own arguments


def test_verify_needs_host_or_qemu(export_dir):
    msg = runner_error(invoke("verify", export_dir))
    assert "--host" in msg and "--qemu" in msg


def test_verify_needs_an_export_folder(tmp_path):
    msg = runner_error(invoke("verify", tmp_path, "--host"))
    assert str(tmp_path) in msg and "export" in msg
    msg = runner_error(invoke("verify", tmp_path / "missing", "--host"))
    assert str(tmp_path / "missing") in msg


def test_verify_with_a_corrupt_frozen_model(export_copy):
    frozen = export_copy / f"{NAME}.sbn.npz"
    frozen.write_bytes(frozen.read_bytes()[:100])
    msg = runner_error(invoke("verify", export_copy, "--host", "--limit", 5))
    assert str(frozen) in msg


# --------------------------------------------------------------------------
# Help and version


@pytest.mark.parametrize("command", sorted(main.commands))
def test_help_lists_every_option(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    cmd = main.commands[command]
    options = [p for p in cmd.params if p.param_type_name == "option"]
    assert options
    for option in options:
        for flag in option.opts:
            assert flag in result.stdout, f"{command} --help lacks {flag}"
    first_line = (cmd.help or "").strip().splitlines()[0]
    assert first_line in result.stdout


def test_main_help_through_a_process():
    proc = sbn("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: sbn-mcu ")
    for command in main.commands:
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.M), command


def test_version():
    proc = sbn("--version")
    assert proc.returncode == 0
    assert sbn_mcu.__version__ in proc.stdout


# --------------------------------------------------------------------------
# The whole way at once


def test_demo(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--limit", 300, "--epochs", 1, "--vectors", 2, "--out", out)
    assert result.exit_code == 0, result.output
    for step in range(1, 5):
        assert f"[{step}/4]" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["host"]["mismatches"] == 0 and report["qemu"]["mismatches"] == 0
    assert report["host"]["n"] == len(data.load("fashion-mnist", "test")[1])  # the whole test split
    assert report["qemu"]["n"] == 2
    assert report["host"]["accuracy"] == report["host"]["reference_accuracy"]
    assert report["qemu"]["instructions_per_inference"] > 0
    assert {"model.pt", "metrics.json", "curves.png"} <= {p.name for p in (out / "run").iterdir()}
    assert {"model.h", "model.c", "model.sbn.npz", "summary.json", "model.cmake", "model.mk", "sbn-export.json"} == {
        p.name for p in (out / "export").iterdir()}
    assert report["summary"] == json.loads((out / "export" / "summary.json").read_text())["total"]


# --------------------------------------------------------------------------
# Regressions: outputs never delete unrelated files; usage errors are one line


def test_export_refuses_a_folder_with_other_files(checkpoint, tmp_path):
    run_dir = Path(shutil.copytree(checkpoint.parent, tmp_path / "run"))
    before = snapshot(run_dir)
    message = runner_error(invoke("export", run_dir / "model.pt", "--out", run_dir, "--name", NAME))
    assert "export did not write" in message
    assert snapshot(run_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folders left


def test_checkpoint_without_architecture_is_a_clear_error(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)
    del state["architecture"]
    damaged = tmp_path / "damaged.pt"
    torch.save(state, damaged)
    message = runner_error(invoke("export", damaged, "--out", tmp_path / "out"))
    assert "architecture" in message
    assert not (tmp_path / "out").exists()


def test_bad_option_value_is_one_error_line():
    proc = sbn("verify", "somewhere", "--qemu", "cortex-m9")
    assert proc.returncode == 2
    assert "cortex-m4" in proc_error(proc)


def test_verify_host_and_qemu_json_is_one_document(export_dir):
    result = invoke("verify", export_dir, "--host", "--limit", 50, "--qemu", "cortex-m4", "--vectors", 2,
                    "--json")
    assert result.exit_code == 0, result.stderr
    both = json.loads(result.stdout)
    assert [r["target"] for r in both] == ["host", "qemu:cortex-m4"]
    assert all(r["mismatches"] == 0 for r in both)


def test_output_under_a_file_is_refused_before_any_work(checkpoint, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    started = time.perf_counter()
    message = runner_error(invoke("export", checkpoint, "--out", blocker / "sub"))
    assert str(blocker) in message
    assert time.perf_counter() - started < 5  # refused before the check on the test split
    assert blocker.read_text() == "keep"


def test_frozen_model_of_a_newer_format_is_refused(export_copy):
    frozen_file = next(export_copy.glob("*.sbn.npz"))
    with np.load(frozen_file) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(str(arrays["header"]))
    header["version"] += 1
    arrays["header"] = np.array(json.dumps(header))
    np.savez(frozen_file, **arrays)
    message = runner_error(invoke("verify", export_copy, "--host", "--limit", 5))
    assert "version" in message and "export it again" in message


@pytest.mark.parametrize("field,value", [("running_var", float("nan")), ("weight", float("inf"))])
def test_nan_or_inf_in_a_checkpoint_is_refused(checkpoint, tmp_path, field, value):
    state = torch.load(checkpoint, weights_only=True)
    key = next(k for k in state["state_dict"] if k.endswith(field) and state["state_dict"][k].dim() == 1)
    state["state_dict"][key][0] = value
    damaged = tmp_path / "nan.pt"
    torch.save(state, damaged)
    message = runner_error(invoke("export", damaged, "--out", tmp_path / "out"))
    assert "NaN or Inf" in message
    assert not (tmp_path / "out").exists()
