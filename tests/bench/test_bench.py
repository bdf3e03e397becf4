"""`sbn-mcu bench`: every core checks golden vectors and counts instructions,
in total and per layer, with the loads per word of each kernel's weight loop;
a model too big for a machine is reported, not crashed on."""

import json
import subprocess

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from sbn_mcu import codegen
from sbn_mcu.training import freeze
from sbn_mcu import toolchain
from sbn_mcu.cli import main
from sbn_mcu.errors import SbnError
from sbn_mcu.ir.model import SUFFIX
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear
from sbn_mcu.verify import golden
from sbn_mcu.toolchain import cross
from sbn_mcu.targets import cores
from sbn_mcu.bench import loops


def export_folder(model, path):
    frozen = freeze.freeze(model, (1, 28, 28), meta={"dataset": "fashion-mnist"})
    return codegen.ExportFolder.create(path, frozen, "net", False).path


def bench_json(folder, cores, vectors=3):
    result = CliRunner().invoke(main, ["bench", str(folder), "--cpu", ",".join(cores), "--vectors", str(vectors),
                                       "--json"])
    assert result.exit_code == 0, result.output
    return {row["core"]: row for row in json.loads(result.stdout)}


def check_layers_add_up(row, kernels):
    """Each layer did work, and the layers add up to the total measured without the hook.

    The layers leave out the argmax over the 10 class scores and the return,
    about 10 instructions per class, so they may fall short of the total by
    that much; each reading is +-1 SysTick tick (40 instructions), which the
    timed repeats average down to well under 0.1% of the total either way.
    """
    layers = row["layers"]
    assert [layer["kernel"] for layer in layers] == kernels
    assert all(layer["instructions"] > 0 for layer in layers), layers
    total = row["instructions_per_inference"]
    short = total - sum(layer["instructions"] for layer in layers)
    assert -0.001 * total <= short <= 0.001 * total + 15 * 10, (total, layers)


def test_bench_reports_every_core_and_what_does_not_fit(tmp_path):
    torch.manual_seed(0)
    small = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 40), nn.BatchNorm1d(40), SBActivation(),
                                        SBLinear(40, 10)), tmp_path / "small")
    big = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 3000), nn.BatchNorm1d(3000), SBActivation(),
                                      SBLinear(3000, 10)), tmp_path / "big")  # ~300 KB of weights
    rows = bench_json(small, cores.CORES)
    assert list(rows) == list(cores.CORES)
    for row in rows.values():
        assert row["fits"] and row["mismatches"] == 0
        assert row["instructions_per_inference"] > 784 * 40 / 32  # at least a word op per weight word
        assert 0 < row["stack_bytes"] < 4096 and row["model_flash_bytes"] > 784 * 40 / 8
        check_layers_add_up(row, ["dense_u8", "dense_bits_scores"])
        assert row["layers"][0]["loads_per_word"] > 0
    result = CliRunner().invoke(main, ["bench", str(big), "--cpu", "cortex-m0,cortex-m4", "--vectors", "1"])
    assert result.exit_code == 0, result.output
    m0, m4 = result.stdout.splitlines()[1:3]
    assert "does not fit" in m0 and "flash" in m0
    assert m4.startswith("cortex-m4") and "does not fit" not in m4
    assert "cortex-m4  0 dense 784 -> 3000" in result.stdout  # the per-layer table


def test_loads_per_word_from_the_compiled_loops(tmp_path):
    torch.manual_seed(0)
    # 800 hidden units: rows of 25 words, so the popcount loop over blocks of
    # eight words stays a loop (rows of fewer than 16 words leave none, and the figure is None)
    mlp = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 800), nn.BatchNorm1d(800), SBActivation(),
                                      SBLinear(800, 10)), tmp_path / "mlp")
    rows = bench_json(mlp, ["cortex-m0", "cortex-m4"], vectors=1)
    (m0_u8, m0_bits), (m4_u8, m4_bits) = ([layer["loads_per_word"] for layer in rows[c]["layers"]]
                                          for c in ("cortex-m0", "cortex-m4"))
    # Thumb-2 reads two words per ldrd in the popcount loop, the M0 one word per ldr
    assert m4_bits < m0_bits
    # the uint8 layer pairs its pixel loads (ldrd) on the M4, which the binary layer cannot
    assert m4_u8 != m4_bits
    # aligned pixels come in whole words even on the M0, never byte by byte (4 loads per word)
    assert m0_u8 <= 1.0
    assert rows["cortex-m4"]["word_loops"]["mismatches"]["loads"] > 0


def test_per_layer_counts_of_a_convolutional_model(tmp_path):
    torch.manual_seed(0)
    cnn = export_folder(nn.Sequential(SBConv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), SBActivation(),
                                      nn.MaxPool2d(2), SBConv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                                      SBActivation(), nn.MaxPool2d(2), nn.Flatten(), SBLinear(16 * 7 * 7, 10)),
                        tmp_path / "cnn")
    rows = bench_json(cnn, ["cortex-m0", "cortex-m4"])
    for row in rows.values():
        assert row["mismatches"] == 0
        check_layers_add_up(row, ["conv_u8", "conv_bits", "dense_bits_scores"])
        # the first convolution's few words per position are unrolled: no loop to count
        assert [layer["loads_per_word"] is None for layer in row["layers"]] == [True, False, False]


def test_the_layer_hook_compiles_away_unless_defined(tmp_path):
    torch.manual_seed(0)
    out = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 16), nn.BatchNorm1d(16), SBActivation(),
                                      SBLinear(16, 10)), tmp_path / "net")
    gcc, nm = toolchain.require("arm-none-eabi-gcc"), toolchain.require("arm-none-eabi-nm")
    undefined = {}
    for hook in ([], ["-DSBN_LAYER_HOOK=my_hook"]):
        obj = tmp_path / f"net{len(hook)}.o"
        subprocess.run([gcc, *cores.CORES["cortex-m4"].cflags, *cross.TARGET_CFLAGS, "-Wconversion",
                        "-Wshadow", *hook, "-c", str(out / "net.c"), "-o", str(obj)], check=True)
        undefined[bool(hook)] = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True,
                                               check=True).stdout.split()
    assert undefined == {False: [], True: ["U", "my_hook"]}


def test_word_loops_count_the_loads_of_the_marked_loop(tmp_path):
    # one byte load per byte, and one word load per word: 4 and 1 loads per word read
    (tmp_path / "loops.c").write_text(
        "#include <stdint.h>\n"
        "uint32_t sum_bytes(const uint8_t *p, uint32_t n);\n"
        "uint32_t sum_words(const uint32_t *p, uint32_t n);\n"
        "uint32_t sum_bytes(const uint8_t *p, uint32_t n)\n{\n    uint32_t s = 0u, i;\n"
        "    for (i = 0u; i < n; i++) { /* word loop: bytes */\n        s += p[i];\n    }\n    return s;\n}\n"
        "uint32_t sum_words(const uint32_t *p, uint32_t n)\n{\n    uint32_t s = 0u, i;\n"
        "    for (i = 0u; i < n; i++) { /* word loop: words */\n        s ^= p[i];\n    }\n    return s;\n}\n")
    found = loops.word_loops("cortex-m0", [tmp_path / "loops.c"], [], tmp_path)
    assert found["bytes"]["loads"] == 1 and found["bytes"]["loads_per_word"] == 4.0
    assert found["words"]["loads"] == 1 and found["words"]["loads_per_word"] == 1.0


def test_a_profiled_report_needs_every_layer():
    report = ["vector 0 ok", "calib_instructions 1000", "calib_ticks 25", "overhead_ticks 10", "work_ticks 900",
              "repeats 4", "stack_bytes 64", "hook_calls 8", "hook_ticks 7", "layer 0 ticks 500",
              "layer 1 ticks 380", "layers 2", "done mismatches 0"]
    core = cores.CORES["cortex-m4"]
    _, fields, _ = golden.parse_golden("\n".join(report), 1, core, profiled=True)
    assert fields["layer_ticks"] == [500, 380]
    with pytest.raises(SbnError, match="stopped before its report"):
        golden.parse_golden("\n".join(r for r in report if r != "layer 1 ticks 380"), 1, core, profiled=True)


def test_bench_rejects_unknown_cores(tmp_path):
    result = CliRunner().invoke(main, ["bench", str(tmp_path), "--cpu", "cortex-m9"])
    assert result.exit_code == 2
    assert "cortex-m9" in result.stderr
