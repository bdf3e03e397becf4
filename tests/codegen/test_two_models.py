"""Two models in one firmware: two single headers in one C file, two exports
linked into one program, and two shared-runtime exports linked against one
sbn_runtime.c, each checked against the numpy reference.

The models are built from ops without training: an mlp and a cnn on uint8
images, and a model on int16 input whose first layer's sums pass int32 (its
thresholds sit beyond it on both sides), so that one program holds a model
with 32-bit and one with 64-bit sums.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from support import expect_error
from sbn_mcu import codegen, host, runtime, toolchain
from sbn_mcu.verify import golden
from sbn_mcu.ir import reference
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.ir.model import FrozenModel
from sbn_mcu.ops import Conv2d, Dense, Flatten, MaxPool2d

N = 8  # inputs per model
STRICT = ["-Wmissing-prototypes", "-Wconversion", "-Wsign-conversion", "-Wshadow"]


def signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)


def at_sums(model: FrozenModel, pixels: np.ndarray, rng) -> FrozenModel:
    """Each thresholded layer's thresholds on sums that the inputs really produce there (the sum,
    one below, one above), so that a sum computed in too narrow a type lands on the wrong side."""
    x = model.spec.integers(pixels)
    for layer in model.layers:
        acc = layer.reference(x)
        if layer.thresholds is None:
            x = acc
            continue
        channels = acc.shape[1]
        flat = acc.reshape(len(acc), channels, -1)
        picked = flat[np.arange(channels) % len(acc), np.arange(channels), rng.integers(0, flat.shape[2], channels)]
        layer.thresholds = (picked + np.array([0, -1, 1])[np.arange(channels) % 3]).astype(np.int64)
        x = np.where(acc >= layer.thresholds.reshape((1, -1) + (1,) * (acc.ndim - 2)), 1, -1)
    return model


def mlp(rng):
    model = FrozenModel((1, 8, 8), [Flatten(), Dense(signs(rng, (24, 64)), np.zeros(24, np.int64)),
                                    Dense(signs(rng, (4, 24)))])
    return model, rng.integers(0, 256, (N, 64)).astype(np.uint8)


def cnn(rng):
    model = FrozenModel((1, 8, 8), [Conv2d(signs(rng, (8, 1, 3, 3)), np.zeros(8, np.int64), (1, 1), (1, 1)),
                                    MaxPool2d(2, 2), Flatten(), Dense(signs(rng, (3, 128)))])
    return model, rng.integers(0, 256, (N, 64)).astype(np.uint8)


def wide(rng):
    """int16 input, q = 127 r: 600 inputs of |q| up to 4,161,536 sum past 2^31 either way."""
    spec = InputSpec((1, 600), "int16", "cl", "per-channel", (127,), (0,), 1 << 22)
    base = signs(rng, 600)
    rows = np.where(rng.random((6, 600)) < 0.04, -base, base).astype(np.int8)  # close to base: large sums
    model = FrozenModel(spec, [Flatten(), Dense(rows, np.zeros(6, np.int64)), Dense(signs(rng, (3, 6)))])
    pixels = rng.integers(-32768, 32768, (N, 600)).astype(np.int16)
    pixels[0] = np.where(base > 0, 32767, -32768)
    pixels[1] = np.where(base > 0, -32768, 32767)
    return model, pixels


MAKERS = {"gesture": mlp, "command": cnn, "big": wide}


def models(names):
    built = {}
    for name in names:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        model, pixels = MAKERS[name](rng)
        built[name] = (at_sums(model, pixels, rng), pixels)
    return built


def driver(names, implementations: bool = False) -> str:
    """A main() that runs every model over its inputs file (argv[1], argv[2], ...) and writes
    all their scores, model after model, to standard output."""
    lines = ["#include <stdio.h>"]
    for name in names:
        if implementations:
            lines.append(f"#define {name.upper()}_IMPLEMENTATION")
        lines.append(f'#include "{name}.h"')
    lines += ["", "int main(int argc, char **argv)", "{", "    FILE *f;",
              f"    if (argc != {len(names) + 1}) {{", "        return 2;", "    }"]
    for i, name in enumerate(names, 1):
        N_ = name.upper()
        lines += ["    {",
                  f"        static {name}_input_t input[{N_}_INPUT_SIZE];",
                  f"        int32_t scores[{N_}_NUM_CLASSES];",
                  f'        if ((f = fopen(argv[{i}], "rb")) == NULL) {{', "            return 2;", "        }",
                  f"        while (fread(input, sizeof input[0], {N_}_INPUT_SIZE, f) == {N_}_INPUT_SIZE) {{",
                  f"            (void){name}_infer(input, scores);",
                  f"            fwrite(scores, sizeof scores[0], {N_}_NUM_CLASSES, stdout);",
                  "        }", "        fclose(f);", "    }"]
    return "\n".join([*lines, "    return 0;", "}", ""])


def run_together(built: dict, sources, include_dirs, tmp: Path, implementations: bool = False) -> dict:
    """Build one executable from ``sources`` and a driver for every model in ``built``; its scores by model."""
    main = tmp / "main.c"
    main.write_text(driver(list(built), implementations))
    exe = toolchain.compile_host([*sources, main], tmp / "both", include_dirs=include_dirs, extra_flags=STRICT)
    return run_program(exe, built, tmp)


def run_program(exe: Path, built: dict, tmp: Path) -> dict:
    """Scores by model of a program built around :func:`driver`."""
    files = []
    for name, (_, pixels) in built.items():
        files.append(tmp / f"{name}.bin")
        np.ascontiguousarray(pixels).tofile(files[-1])
    out = np.frombuffer(subprocess.run([str(exe), *map(str, files)], capture_output=True, check=True).stdout,
                        np.int32)
    got, start = {}, 0
    for name, (model, pixels) in built.items():
        size = len(pixels) * model.num_classes
        got[name] = out[start:start + size].reshape(len(pixels), model.num_classes)
        start += size
    assert start == out.size
    return got


def check(built: dict, got: dict) -> None:
    for name, (model, pixels) in built.items():
        np.testing.assert_array_equal(got[name], reference.run(model, pixels), err_msg=name)


def test_the_wide_model_needs_64_bits():
    """The premise of the tests below: the big model's sums and thresholds pass int32 both ways,
    and it alone plans 64-bit sums."""
    built = models(["gesture", "big"])
    model, pixels = built["big"]
    sums = model.layers[1].reference(model.spec.integers(pixels).reshape(len(pixels), -1))
    assert sums.max() >= 2 ** 31 and sums.min() < -2 ** 31
    assert model.layers[1].thresholds.max() >= 2 ** 31 and model.layers[1].thresholds.min() < -2 ** 31
    assert codegen.plan(model).wide and not codegen.plan(built["gesture"][0]).wide


@pytest.mark.parametrize("order", [("gesture", "big", "command"), ("big", "command", "gesture")],
                         ids=["narrow-first", "wide-first"])
def test_single_headers_share_one_c_file(order, tmp_path):
    built = models(order)
    for name, (model, _) in built.items():
        (tmp_path / f"{name}.h").write_text(codegen.model_sources(model, name, single_header=True)[f"{name}.h"])
    got = run_together(built, [], [tmp_path], tmp_path, implementations=True)
    check(built, got)


def test_two_exports_link_into_one_program(tmp_path):
    built = models(["gesture", "command", "big"])
    sources = []
    for name, (model, _) in built.items():
        folder = codegen.ExportFolder.create(tmp_path / name, model, name)
        sources += folder.sources(tmp_path)
        obj = tmp_path / f"{name}.o"
        subprocess.run([toolchain.require("gcc"), "-c", "-O2", str(sources[-1]), "-o", str(obj)], check=True)
        exported = subprocess.run(["nm", "-g", "--defined-only", str(obj)], capture_output=True, text=True,
                                  check=True).stdout.split()[2::3]
        assert exported and all(symbol.lower().startswith(f"{name}_") for symbol in exported), exported
    got = run_together(built, sources, [tmp_path / name for name in built], tmp_path)
    check(built, got)


def test_shared_runtime_exports_link_against_one_runtime(tmp_path):
    built = models(["gesture", "command", "big"])
    folders = [codegen.ExportFolder.create(tmp_path / name, model, name, runtime_files="shared")
               for name, (model, _) in built.items()]
    library = [f"{runtime.LIBRARY}.c", f"{runtime.LIBRARY}.h"]
    for folder in folders:
        assert set(library) <= set(folder.files) and set(library) <= set(folder.c_files)
        assert [(folder.path / f).read_bytes() for f in library] == [(folders[0].path / f).read_bytes()
                                                                      for f in library]
        assert "#define SBN_API static" not in (folder.path / f"{folder.name}.c").read_text()
    sources = [folder.path / f"{folder.name}.c" for folder in folders] + [folders[0].path / library[0]]
    got = run_together(built, sources, [folder.path for folder in folders], tmp_path)
    check(built, got)


@pytest.mark.parametrize("build", ["cmake", "make"])
def test_build_fragments_of_two_shared_runtime_exports(build, tmp_path):
    """Each folder's fragment names the runtime; a program that includes both builds it once."""
    built = models(["gesture", "big"])
    folders = [codegen.ExportFolder.create(tmp_path / name, model, name, runtime_files="shared")
               for name, (model, _) in built.items()]
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text(driver(list(built)))
    if build == "cmake":
        (app / "CMakeLists.txt").write_text(
            "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
            + "".join(f"include({f.path}/{f.name}.cmake)\n" for f in folders)
            + "add_executable(app main.c)\ntarget_link_libraries(app PRIVATE gesture big)\n")
        subprocess.run(["cmake", "-S", str(app), "-B", str(app / "build")], check=True, capture_output=True)
        subprocess.run(["cmake", "--build", str(app / "build")], check=True, capture_output=True)
        exe = app / "build" / "app"
    else:
        (app / "Makefile").write_text(
            "".join(f"include {f.path}/{f.name}.mk\n" for f in folders)
            + "app: main.c $(GESTURE_SOURCES) $(BIG_SOURCES) $(SBN_RUNTIME_SOURCES)\n"
              "\t$(CC) -std=c99 -O2 $(GESTURE_CFLAGS) $(BIG_CFLAGS) -o $@ $^\n")
        subprocess.run(["make", "-C", str(app), "app"], check=True, capture_output=True)
        exe = app / "app"
    check(built, run_program(exe, built, tmp_path))


@pytest.mark.parametrize("single_header", [False, True], ids=["two-files", "single-header"])
def test_verify_and_host_on_a_shared_runtime_export(single_header, tmp_path):
    (model, pixels), = models(["big"]).values()
    folder = codegen.ExportFolder.create(tmp_path / "export", model, "big", single_header, "shared")
    reopened = codegen.ExportFolder.open(folder.path)
    assert reopened.runtime == "shared" and (folder.path / f"{runtime.LIBRARY}.c") in reopened.sources(tmp_path)
    labels = np.arange(N) % model.num_classes
    data = tmp_path / "data.npz"
    np.savez(data, x_train=pixels.reshape(N, 1, 600), y_train=labels, x_test=pixels.reshape(N, 1, 600),
             y_test=labels)
    run = subprocess.run([sys.executable, "-m", "sbn_mcu", "verify", str(folder.path), "--host", "--data", str(data),
                          "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["n"] == N and result["mismatches"] == 0
    np.testing.assert_array_equal(host.load(folder.path).scores(pixels), reference.run(model, pixels))


@pytest.mark.cross
@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m4"])
def test_a_shared_runtime_export_in_qemu(core, tmp_path):
    (model, pixels), = models(["big"]).values()
    folder = codegen.ExportFolder.create(tmp_path / "export", model, "big", runtime_files="shared")
    result = golden.run_golden(core, folder.sources(tmp_path), [folder.path], "big", pixels,
                               reference.run(model, pixels), tmp_path / "build")
    assert result.n == N and result.mismatches == 0, result.log


def test_the_shared_runtime_compiles_clean(tmp_path):
    """Every kernel and every 64-bit copy, public, under the runtime's own strict flags."""
    for fname, text in codegen.render.runtime_sources().items():
        (tmp_path / fname).write_text(text)
    run = subprocess.run([toolchain.require("gcc"), "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
                          *STRICT, "-c", str(tmp_path / f"{runtime.LIBRARY}.c"), "-o", str(tmp_path / "r.o")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    defined = set(subprocess.run(["nm", "-g", "--defined-only", str(tmp_path / "r.o")], capture_output=True,
                                 text=True, check=True).stdout.split()[2::3])
    declared = {m.group(1) for m in runtime._PROTOTYPE.finditer(runtime.text(runtime.PUBLIC_HEADER))}
    assert declared | {runtime.widen(k) for k in declared} == defined and not declared >= defined


def test_an_unknown_runtime_is_one_line():
    (model, _), = models(["gesture"]).values()
    expect_error("choose one of pasted, shared", codegen.model_sources, model, "gesture", runtime_files="static")
