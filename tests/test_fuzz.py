"""The chain fuzzer (benchmarks/fuzz.py): a small run is clean, and its
sanitizer flags really catch bugs, so that "0 failures" means something."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

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
        sys.modules[name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_small_fuzz_run_is_clean(tmp_path):
    out = tmp_path / "fuzz.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "6", "--inputs", "50", "--seed", "0",
         "--json", str(out), "--failures", str(tmp_path / "failures"), "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(out.read_text())
    assert summary["models"] == 6
    assert summary["mlp_models"] + summary["cnn_models"] == 6
    assert summary["inputs"] == 300
    assert summary["score_mismatches"] == 0
    assert summary["failures"] == 0
    assert summary["sanitizer_failures"] == summary["compile_failures"] == summary["other_failures"] == 0
    assert summary["torch_units_other"] == 0
    assert summary["ok"] is True
    assert "score mismatches" in run.stdout and "wall time" in run.stdout


def test_help_explains_the_options():
    run = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 0
    for option in ("--models", "--inputs", "--seed", "--json", "--jobs", "--failures", "--only"):
        assert option in run.stdout


# Bugs the generated C could have, each as a tiny program: the fuzz flags must
# make each one fail at run time, with the sanitizer's report on stderr.
BUGGY_PROGRAMS = {
    # a read past a static array through a pointer, like a kernel overrunning a packed buffer
    "out-of-bounds read": ("""\
#include <stdint.h>
static uint32_t words[4] = {1u, 2u, 3u, 4u};
static uint32_t sum(const uint32_t *w, int n)
{
    uint32_t s = 0u;
    int i;
    for (i = 0; i < n; i++) {
        s += w[i];
    }
    return s;
}
int main(int argc, char **argv)
{
    volatile uint32_t sink;
    (void)argv;
    sink = sum(words, argc + 4);
    (void)sink;
    return 0;
}
""", ("AddressSanitizer", "runtime error")),
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
