"""The chain fuzzer (benchmarks/fuzz.py): a small run is clean, a wrong score is caught, and its
sanitizer flags really catch bugs, so that "0 failures" means something."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sbn_mcu import toolchain
from sbn_mcu.errors import SbnError

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "fuzz.py"


def _fuzz_module():
    """benchmarks/fuzz.py as a module (it is a script, not part of the package)."""
    name = "sbn_fuzz_script"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def fuzz_run(tmp_path, *options) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--json", str(out), "--failures", str(tmp_path / "failures"),
                          "--no-progress", *options], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    return run, json.loads(out.read_text())


def test_small_fuzz_run_is_clean(tmp_path):
    run, summary = fuzz_run(tmp_path, "--architectures", "6", "--inputs", "40", "--seed", "3", "--qemu-every", "0")
    assert summary["architectures"] == summary["mlp"] + summary["cnn"] == 6
    assert summary["inputs"] == 240
    assert summary["score_mismatches"] == summary["sanitizer_failures"] == summary["compile_failures"] == 0
    assert summary["torch_differing_outputs"] == summary["other_failures"] == 0
    assert summary["qemu"]["architectures"] == 0
    coverage = summary["coverage"]
    assert sum(coverage["input_types"].values()) == sum(coverage["layouts"].values()) == 6
    assert set(coverage["input_types"]) <= {"uint8", "int8", "int16"}
    assert coverage["layers"]["Dense"] >= 6  # every architecture ends with its score layer
    assert summary["ok"] is True and summary["problems"] == []
    assert "| Score mismatches, C vs reference | 0 inputs" in run.stdout


@pytest.mark.cross
def test_fuzz_runs_on_qemu(tmp_path):
    _, summary = fuzz_run(tmp_path, "--architectures", "2", "--inputs", "20", "--seed", "1", "--qemu-every", "1")
    assert summary["qemu"] == {"architectures": 2, "inputs": 40, "mismatches": 0,
                               "cores": {"cortex-m0": 1, "cortex-m4": 1}}
    assert summary["ok"] is True


def test_a_wrong_score_is_reported_and_saved(tmp_path, monkeypatch):
    fuzz = _fuzz_module()
    from sbn_mcu.ir import reference

    real = reference.run
    monkeypatch.setattr(reference, "run", lambda fm, raw: real(fm, raw) + (np.arange(len(raw)) == 4)[:, None])
    result = fuzz.run_one(0, 0, 10, 0, str(tmp_path))
    assert result["status"] == "mismatch" and result["mismatched_inputs"] == 1, result
    assert "inputs [4] differ" in result["message"]
    assert (Path(result["saved"]) / "model.sbn.npz").is_file() and (Path(result["saved"]) / "fz.c").is_file()


def test_readme_table_is_written_between_the_marks(tmp_path, monkeypatch):
    fuzz = _fuzz_module()
    results = tmp_path / "fuzz.json"
    summary = fuzz.summarize([], "benchmarks/fuzz.py --architectures 0", 0, 1, 1.0)
    results.write_text(json.dumps(summary))
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{fuzz.MARKS[0]}\nold table\n{fuzz.MARKS[1]}\nafter\n")
    monkeypatch.setattr(fuzz, "README", readme)
    fuzz.write_readme(results)
    text = readme.read_text()
    assert "old table" not in text and text.startswith("before\n") and text.endswith("\nafter\n")
    assert "\n".join(fuzz.table(summary)) in text and "`benchmarks/fuzz.py --architectures 0`" in text


def test_help_explains_the_options():
    run = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 0
    for option in ("--architectures", "--inputs", "--seed", "--json", "--jobs", "--failures", "--only",
                   "--qemu-every", "--readme"):
        assert option in run.stdout


# Bugs the generated C could have, each as a tiny program: the fuzz flags must
# make each one fail at run time, with the sanitizer's report on stderr.
BUGGY_PROGRAMS = {
    # the fuzzer's self-check: a read past a static array, like a kernel overrunning a packed buffer
    "out-of-bounds read": (_fuzz_module().OOB_PROGRAM, ("AddressSanitizer", "runtime error")),
    # the same read past the array, with an index the compiler cannot see
    "out-of-bounds read, ASan": ("""\
#include <stdint.h>
#include <stdlib.h>
static uint32_t words[4] = {1u, 2u, 3u, 4u};
int main(int argc, char **argv)
{
    volatile uint32_t sink;
    const uint32_t *p = words + (argc > 1 ? atoi(argv[1]) : 0);
    sink = *p;
    (void)sink;
    return 0;
}
""", ("AddressSanitizer: global-buffer-overflow",)),
    # an int32 sum that overflows, like a score accumulator
    "signed overflow": ("""\
#include <stdint.h>
int main(int argc, char **argv)
{
    volatile int32_t big = 2147483647;
    int32_t sum = big + (int32_t)argc;
    (void)argv;
    return sum == 0;
}
""", ("signed integer overflow",)),
}


@pytest.mark.parametrize("bug", sorted(BUGGY_PROGRAMS))
def test_sanitizer_flags_catch_bugs_at_run_time(tmp_path, bug):
    fuzz = _fuzz_module()
    source, reports = BUGGY_PROGRAMS[bug]
    src = tmp_path / "bug.c"
    src.write_text(source)
    exe = toolchain.compile_host([src], tmp_path / "bug", extra_flags=fuzz.EXTRA_FLAGS)
    run = subprocess.run([str(exe), "4"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0, f"{bug} ran cleanly under {fuzz.EXTRA_FLAGS}"
    assert any(r in run.stderr for r in reports), run.stderr


def test_fuzz_self_check_catches_its_out_of_bounds_program(tmp_path):
    fuzz = _fuzz_module()
    report = fuzz.sanitizer_self_check(tmp_path)
    assert "runtime error" in report or "Sanitizer" in report


def test_conversion_warnings_fail_the_build(tmp_path):
    fuzz = _fuzz_module()
    src = tmp_path / "narrow.c"
    src.write_text("#include <stdint.h>\nint main(void) { int32_t a = 70000; int16_t b = a; return b == 0; }\n")
    with pytest.raises(SbnError, match="conversion"):
        toolchain.compile_host([src], tmp_path / "narrow", extra_flags=fuzz.EXTRA_FLAGS)
