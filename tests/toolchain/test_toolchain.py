"""Tests for sbn_mcu.toolchain: host gcc, arm-none-eabi-gcc and QEMU.

The toolchain is installed in CI, so nothing here is skipped. The models are
small fakes written by the fixtures below, with Python mirrors of their
scores.
"""

from __future__ import annotations

import doctest
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from sbn_mcu import toolchain
from sbn_mcu.errors import SbnError
from sbn_mcu.targets.cores import CORES, resolve_core
from sbn_mcu.toolchain.cross import build_objects
from sbn_mcu.toolchain.qemu import run_status
from sbn_mcu.verify.golden import GoldenResult, run_golden
from sbn_mcu.targets import cores

# --------------------------------------------------------------------------
# Fake models

FAKE_H = """\
#ifndef FAKE_H
#define FAKE_H
#include <stdint.h>
typedef uint8_t fake_input_t;
#define FAKE_INPUT_SIZE 64
#define FAKE_NUM_CLASSES 4
int32_t fake_infer(const uint8_t *input, int32_t *scores);
#endif
"""

# A few thousand instructions of work; FAKE_ROUNDS scales it. Each round
# depends on the last, so the compiler cannot fold the rounds together.
FAKE_C = """\
#include "fake.h"
#ifndef FAKE_ROUNDS
#define FAKE_ROUNDS 4
#endif
int32_t fake_infer(const uint8_t *input, int32_t *scores)
{
    int32_t best = 0;
    uint32_t c, r, i;
    for (c = 0; c < FAKE_NUM_CLASSES; c++) {
        uint32_t h = c + 1u;
        for (r = 0; r < FAKE_ROUNDS; r++) {
            for (i = 0; i < FAKE_INPUT_SIZE; i++) {
                h = (h * 31u + input[i]) ^ r;
            }
        }
        scores[c] = (int32_t)(h & 0xFFFFu) - 1000 * (int32_t)c;
        if (scores[c] > scores[best]) {
            best = (int32_t)c;
        }
    }
    return best;
}
"""

FAKE_HOST_MAIN = """\
#include <stdio.h>
#include "fake.h"
int main(void)
{
    uint8_t input[FAKE_INPUT_SIZE];
    int32_t scores[FAKE_NUM_CLASSES];
    int c;
    if (fread(input, 1, sizeof input, stdin) != sizeof input) {
        return 2;
    }
    printf("%ld", (long)fake_infer(input, scores));
    for (c = 0; c < FAKE_NUM_CLASSES; c++) {
        printf(" %ld", (long)scores[c]);
    }
    printf("\\n");
    return 0;
}
"""


def fake_scores(x: np.ndarray, rounds: int = 4) -> list[int]:
    """Python mirror of fake_infer's scores."""
    out = []
    for c in range(4):
        h = c + 1
        for r in range(rounds):
            for v in x:
                h = ((h * 31 + int(v)) ^ r) & 0xFFFFFFFF
        out.append((h & 0xFFFF) - 1000 * c)
    return out


LOOPY_H = """\
#include <stdint.h>
typedef uint8_t loopy_input_t;
#define LOOPY_INPUT_SIZE 4
#define LOOPY_NUM_CLASSES 3
int32_t loopy_infer(const uint8_t *input, int32_t *scores);
"""

# Work of a known length: LOOPY_LOOPS passes of an assembly loop of two
# instructions, then about twenty for the scores, the call and the return.
LOOPY_C = """\
#include "loopy.h"
int32_t loopy_infer(const uint8_t *input, int32_t *scores)
{
    uint32_t n = LOOPY_LOOPS;
    __asm__ volatile(".syntax unified\\n1: subs %0, %0, #1\\n\\tbne 1b" : "+l"(n) : : "cc");
    scores[0] = input[0];
    scores[1] = input[1];
    scores[2] = input[2] + input[3];
    if (scores[1] > scores[0]) {
        return scores[2] > scores[1] ? 2 : 1;
    }
    return scores[2] > scores[0] ? 2 : 0;
}
"""
LOOPY_LOOPS = 5000

# A model of 4 inputs and 3 classes whose infer function is BODY.
SMALL_H = """\
#include <stdint.h>
typedef uint8_t {name}_input_t;
#define {NAME}_INPUT_SIZE 4
#define {NAME}_NUM_CLASSES 3
int32_t {name}_infer(const uint8_t *input, int32_t *scores);
"""
HANG_BODY = "(void)input; (void)scores; for (;;) { }"
CRASH_BODY = '(void)input; (void)scores; __asm__ volatile("udf #0"); return 0;'
# 300 KB of constants: more than the micro:bit's 256 KB of flash.
BIG_C = """\
#include "big.h"
static const uint8_t table[300000] = {1};
int32_t big_infer(const uint8_t *input, int32_t *scores)
{
    scores[0] = table[input[0] * 1000u];
    scores[1] = 0;
    scores[2] = 0;
    return 0;
}
"""


def write_model(directory: Path, name: str, header: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.h").write_text(header)
    (directory / f"{name}.c").write_text(source)
    return directory


def small_model(directory: Path, name: str, body: str) -> Path:
    source = (f'#include "{name}.h"\n'
              f"int32_t {name}_infer(const uint8_t *input, int32_t *scores)\n{{\n"
              f"    {body}\n}}\n")
    return write_model(directory, name,
                       SMALL_H.format(name=name, NAME=name.upper()), source)


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("fake"), "fake", FAKE_H, FAKE_C)


@pytest.fixture(scope="module")
def loopy_dir(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("loopy"), "loopy", LOOPY_H, LOOPY_C)


@pytest.fixture(scope="module")
def golden() -> tuple[np.ndarray, np.ndarray]:
    inputs = np.random.default_rng(0).integers(0, 256, (3, 64), dtype=np.uint8)
    expected = np.array([fake_scores(x) for x in inputs], dtype=np.int32)
    return inputs, expected


def run_fake(fake_dir: Path, build_dir: Path, inputs, expected, core="cortex-m4",
             **kwargs) -> GoldenResult:
    return run_golden(core, [fake_dir / "fake.c"], [fake_dir], "fake", inputs,
                      expected, build_dir, **kwargs)


@pytest.fixture(scope="module")
def m4_result(fake_dir, golden, tmp_path_factory) -> GoldenResult:
    return run_fake(fake_dir, tmp_path_factory.mktemp("m4"), *golden)


# --------------------------------------------------------------------------
# Cores and tools


def test_cores_agree_with_linker_scripts():
    assert list(CORES) == ["cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7",
                           "cortex-m33", "cortex-m55"]
    units = {"K": 1024, "M": 1024 * 1024}
    for core in CORES.values():
        text = (toolchain.firmware_dir() / "ld" / core.linker_script).read_text()
        regions = {
            m.group(1): (int(m.group(2), 16), int(m.group(3)) * units[m.group(4)])
            for m in re.finditer(
                r"(FLASH|RAM) \(\w+\) : ORIGIN = (0x[0-9A-Fa-f]+), LENGTH = (\d+)([KM])", text)
        }
        assert regions == {"FLASH": (core.flash_origin, core.flash_bytes),
                           "RAM": (core.ram_origin, core.ram_bytes)}, core.name
        assert core.machine in text


def test_machine_name_is_an_alias():
    assert CORES["mps2-an386"] is CORES["cortex-m4"]
    assert cores.resolve_core("microbit").name == "cortex-m0"
    with pytest.raises(SbnError, match="unknown core 'cortex-m99'.*cortex-m4"):
        cores.resolve_core("cortex-m99")


def test_doctests():
    assert doctest.testmod(toolchain).failed == 0


@pytest.mark.parametrize("tool, env_var, package", [
    ("gcc", "SBN_MCU_GCC", "gcc"),
    ("arm-none-eabi-gcc", "SBN_MCU_ARM_GCC", "gcc-arm-none-eabi libnewlib-arm-none-eabi"),
    ("arm-none-eabi-size", "SBN_MCU_ARM_SIZE", "gcc-arm-none-eabi"),
    ("arm-none-eabi-objdump", "SBN_MCU_ARM_OBJDUMP", "gcc-arm-none-eabi"),
    ("qemu-system-arm", "SBN_MCU_QEMU", "qemu-system-arm"),
])
def test_missing_tool_names_the_apt_package(monkeypatch, tool, env_var, package):
    assert Path(toolchain.require(tool)).is_file()
    monkeypatch.setenv(env_var, "/nonexistent/" + tool)
    with pytest.raises(SbnError, match="apt-get install") as info:
        toolchain.require(tool)
    message = str(info.value)
    assert f"sudo apt-get install -y {package}" in message
    assert env_var in message and "\n" not in message


def test_missing_cross_compiler_stops_a_build(monkeypatch, fake_dir, tmp_path):
    monkeypatch.setenv("SBN_MCU_ARM_GCC", "/nonexistent/arm-none-eabi-gcc")
    with pytest.raises(SbnError, match="apt-get install -y gcc-arm-none-eabi"):
        build(CORES["cortex-m4"], [fake_dir / "fake.c"], [fake_dir], tmp_path)
    # The binutils follow an overridden compiler.
    with pytest.raises(SbnError, match="/nonexistent/arm-none-eabi-size"):
        toolchain.require("arm-none-eabi-size")


# --------------------------------------------------------------------------
# Host builds


def test_compile_host_runs_the_fake_model(fake_dir, golden, tmp_path):
    (tmp_path / "main.c").write_text(FAKE_HOST_MAIN)
    exe = toolchain.compile_host([fake_dir / "fake.c", tmp_path / "main.c"],
                                 tmp_path / "fake_host", include_dirs=[fake_dir])
    inputs, expected = golden
    for x, want in zip(inputs, expected):
        out = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True,
                             check=True).stdout.decode().split()
        assert [int(v) for v in out] == [int(np.argmax(want)), *want.tolist()]


def test_compile_host_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { int unused; return 0; }\n")  # -Werror=unused-variable
    with pytest.raises(toolchain.ToolError) as info:
        toolchain.compile_host([bad], tmp_path / "bad")
    message = str(info.value)
    assert isinstance(info.value, SbnError)
    assert "\n" not in message and "bad.c:1" in message and "unused" in message
    assert "-Werror" in info.value.details


# --------------------------------------------------------------------------
# Golden vectors in QEMU


def test_golden_on_cortex_m4_passes_and_counts(m4_result, golden):
    r = m4_result
    assert (r.core, r.machine, r.n) == ("cortex-m4", "mps2-an386", 3)
    assert r.passed == [True, True, True] and r.mismatches == 0 and r.ok
    # 4 classes x 4 rounds x 64 inputs of a multiply-add loop.
    assert 3000 < r.instructions_per_inference < 20000
    assert r.instructions_per_tick == pytest.approx(40.0, rel=1e-3)  # 25 MHz SysTick
    assert 0 < r.model_flash_bytes < r.flash_bytes and r.model_ram_bytes == 0
    assert 0 < r.model_stack_bytes < 256
    assert r.ram_bytes > 0
    assert "vector 0 ok\nvector 1 ok\nvector 2 ok\n" in r.log
    assert "done mismatches 0" in r.log


def test_instruction_count_is_deterministic_and_scales(m4_result, fake_dir, golden, tmp_path):
    again = run_fake(fake_dir, tmp_path / "again", *golden)
    assert again.instructions_per_inference == m4_result.instructions_per_inference
    inputs, _ = golden
    expected8 = np.array([fake_scores(x, rounds=8) for x in inputs], dtype=np.int32)
    double = run_fake(fake_dir, tmp_path / "double", inputs, expected8,
                      defines=["FAKE_ROUNDS=8"])
    assert double.ok
    ratio = double.instructions_per_inference / m4_result.instructions_per_inference
    assert 1.8 < ratio < 2.2


def test_repeat_can_be_fixed_at_build_time(m4_result, fake_dir, golden, tmp_path):
    r = run_fake(fake_dir, tmp_path, *golden, defines=["SBN_REPEAT=30"])
    assert r.repeats == 30 and m4_result.repeats != 30
    # 30 inferences last ~190 ticks, so resolution costs a little precision.
    assert r.instructions_per_inference == pytest.approx(
        m4_result.instructions_per_inference, rel=0.01)


def test_wrong_expected_score_fails_that_vector(fake_dir, golden, tmp_path):
    inputs, expected = golden
    wrong = expected.copy()
    wrong[1, 0] += 1
    wrong[1, 2] -= 1234567
    wrong[1, 3] -= 7
    r = run_fake(fake_dir, tmp_path, inputs, wrong)
    assert r.passed == [True, False, True] and r.mismatches == 1 and not r.ok
    line = next(line for line in r.log.splitlines() if line.startswith("vector 1 "))
    assert line.startswith("vector 1 FAIL")
    # Every differing index is named, with what the model gave, on one line
    # (longer than the firmware's line buffer).
    for j in (0, 2, 3):
        assert f"score[{j}]={expected[1, j]} expected {wrong[1, j]}" in line
    assert "score[1]" not in line and len(line) > 96
    assert "done mismatches 1" in r.log
    assert r.instructions_per_inference > 0


@pytest.mark.parametrize("core", list(CORES))
def test_golden_on_every_core(core, loopy_dir, tmp_path):
    inputs = np.array([[1, 2, 3, 4], [9, 1, 1, 1], [0, 5, 2, 2]], dtype=np.uint8)
    expected = np.stack([inputs[:, 0], inputs[:, 1],
                         inputs[:, 2].astype(np.int32) + inputs[:, 3]], axis=1)
    args = ([loopy_dir / "loopy.c"], [loopy_dir], "loopy")
    defines = [f"LOOPY_LOOPS={LOOPY_LOOPS}u"]
    r = run_golden(core, *args, inputs, expected, tmp_path / "ok", defines=defines)
    assert r.core == core and r.machine == CORES[core].machine
    assert r.passed == [True] * 3 and r.ok
    # The calibration recovers the known length: 2 per loop pass, plus the
    # scores, call and return (about 20 instructions).
    assert 2 * LOOPY_LOOPS < r.instructions_per_inference < 2 * LOOPY_LOOPS + 40
    assert r.flash_bytes <= CORES[core].flash_bytes

    # A failing run must reach QEMU's exit status (run_golden checks that the
    # status agrees with the report, and raises if it does not).
    wrong = expected.copy()
    wrong[2, 1] = -2**31
    r = run_golden(core, *args, inputs, wrong, tmp_path / "fail", defines=defines)
    assert r.passed == [True, True, False] and r.mismatches == 1
    assert "vector 2 FAIL score[1]=5 expected -2147483648" in r.log


def test_hung_firmware_times_out(tmp_path):
    model = small_model(tmp_path / "model", "hang", HANG_BODY)
    inputs = np.zeros((1, 4), dtype=np.uint8)
    start = time.monotonic()
    with pytest.raises(SbnError, match=r"QEMU did not finish within 3 s on cortex-m4 "
                                       r"\(mps2-an386\); raise --timeout"):
        run_golden("cortex-m4", [model / "hang.c"], [model], "hang", inputs,
                   np.zeros((1, 3), dtype=np.int32), tmp_path / "build", timeout_s=3)
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m33"])
def test_fault_is_reported_with_its_function(core, tmp_path):
    model = small_model(tmp_path / "model", "crash", CRASH_BODY)
    with pytest.raises(SbnError, match=r"firmware crashed on .*: FAULT HardFault "
                                       r"pc=0x[0-9a-f]{8}.*\(in crash_infer\)"):
        run_golden(core, [model / "crash.c"], [model], "crash",
                   np.zeros((1, 4), dtype=np.uint8), np.zeros((1, 3), dtype=np.int32),
                   tmp_path / "build", timeout_s=20)


def build(core, sources, include_dirs, build_dir):
    """The ELF of ``sources`` with the startup code, as the golden harness builds it."""
    return build_objects(core, sources, include_dirs, build_dir, [])[0]


def test_qemu_gives_the_exit_status_and_the_output(tmp_path):
    main = tmp_path / "main.c"
    main.write_text('#include "console.h"\n'
                    'int main(void) { sbn_puts("hello "); sbn_put_i32(-42); '
                    'sbn_puts("\\n"); return 3; }\n')
    elf = build(CORES["cortex-m0"], [main], [], tmp_path / "build")
    assert run_status(elf, CORES["cortex-m0"], timeout_s=60) == (3, "hello -42\n")
    sizes = toolchain.size(elf)
    assert sizes["flash_bytes"] == sizes["text"] + sizes["data"] > 0
    assert sizes["ram_bytes"] == sizes["data"] + sizes["bss"]


def test_model_too_big_for_flash_says_so(tmp_path):
    model = small_model(tmp_path / "model", "big", "return 0;")
    (model / "big.c").write_text(BIG_C)
    with pytest.raises(SbnError, match=r"does not fit in cortex-m0 \(microbit\) flash: .*\d+ B more than "
                                       r"its 262,144 B"):
        run_golden("cortex-m0", [model / "big.c"], [model], "big",
                   np.zeros((1, 4), dtype=np.uint8), np.zeros((1, 3), dtype=np.int32),
                   tmp_path / "build")


def test_static_buffers_too_big_for_ram_say_so(tmp_path):
    main = tmp_path / "main.c"
    main.write_text("#include <stdint.h>\nstatic volatile uint8_t buf[20000];\n"
                    "int main(void) { buf[3] = 1; return buf[3] - 1; }\n")
    with pytest.raises(SbnError, match=r"does not fit in cortex-m0 \(microbit\) RAM: "
                                       r"16384 bytes"):
        build(resolve_core("microbit"), [main], [], tmp_path / "b")


def test_link_error_names_the_missing_symbol(tmp_path):
    lonely = tmp_path / "lonely.c"  # no main(), which the startup code calls
    lonely.write_text("int lonely(void);\nint lonely(void) { return 1; }\n")
    with pytest.raises(SbnError, match="linking for cortex-m3 failed: .*"
                                       "undefined reference to `main'"):
        build(CORES["cortex-m3"], [lonely], [], tmp_path / "b")


def test_golden_sizes_must_match_the_model(fake_dir, tmp_path):
    inputs = np.zeros((2, 10), dtype=np.uint8)  # the model takes 64
    with pytest.raises(SbnError, match="have 10 inputs each, which is not FAKE_INPUT_SIZE"):
        run_fake(fake_dir, tmp_path, inputs, np.zeros((2, 4), dtype=np.int32))
    with pytest.raises(SbnError, match="5 expected scores each.*FAKE_NUM_CLASSES in fake.h"):
        run_fake(fake_dir, tmp_path, np.zeros((2, 64), dtype=np.uint8),
                 np.zeros((2, 5), dtype=np.int32))
    with pytest.raises(SbnError, match="uint8"):
        run_fake(fake_dir, tmp_path, np.full((2, 64), 300), np.zeros((2, 4), dtype=np.int32))
    with pytest.raises(SbnError, match="same K"):
        run_fake(fake_dir, tmp_path, np.zeros((2, 64), dtype=np.uint8),
                 np.zeros((3, 4), dtype=np.int32))
