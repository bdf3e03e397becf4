"""Drop-in use of an export: a single header, and the CMake and make fragments,
each building a program that must give the reference's answer."""

import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from sbn_mcu import codegen
from sbn_mcu.training import freeze
from sbn_mcu.ir import reference
from sbn_mcu import verify
from sbn_mcu.ir.model import SUFFIX
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear

MAIN = """\
#include <stdio.h>
#include "net.h"

int main(void)
{
    static uint8_t input[NET_INPUT_SIZE];
    int32_t scores[NET_NUM_CLASSES];
    int i;
    for (i = 0; i < NET_INPUT_SIZE; i++) {
        input[i] = (uint8_t)((i * 37) & 255);
    }
    printf("%d\\n", (int)net_infer(input, scores));
    return 0;
}
"""


@pytest.fixture(scope="module")
def frozen():
    torch.manual_seed(3)
    model = nn.Sequential(SBConv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), SBActivation(), nn.MaxPool2d(2),
                          nn.Flatten(), SBLinear(8 * 14 * 14, 10)).eval()
    return freeze.freeze(model, (1, 28, 28), meta={"dataset": "fashion-mnist"})


def export_folder(frozen, path, single_header):
    return codegen.ExportFolder.create(path, frozen, "net", single_header).path


def expected_class(frozen):
    pixels = ((np.arange(frozen.input_size) * 37) & 255).astype(np.uint8)[None]
    return int(reference.predict(reference.run(frozen, pixels))[0])


def test_single_header_matches_the_reference_and_links_once(frozen, tmp_path):
    out = export_folder(frozen, tmp_path / "export", single_header=True)
    assert sorted(p.name for p in out.iterdir()) == ["net.cmake", "net.h", "net.mk", "net" + SUFFIX, "sbn-export.json",
                                                     "summary.json"]
    pixels = np.random.default_rng(0).integers(0, 256, (30, frozen.input_size), dtype=np.uint8)
    got = verify.host_scores(out, "net", pixels, frozen.num_classes, extra_flags=["-Wconversion", "-Wshadow"],
                             sources=codegen.ExportFolder.open(out).sources(tmp_path))
    np.testing.assert_array_equal(got, reference.run(frozen, pixels))
    # a second translation unit that only declares: no duplicate symbols at link time
    (tmp_path / "impl.c").write_text('#define NET_IMPLEMENTATION\n#include "net.h"\n')
    (tmp_path / "main.c").write_text(MAIN)
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(out),
                    str(tmp_path / "impl.c"), str(tmp_path / "main.c"), "-o", str(tmp_path / "app")], check=True)
    run = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, check=True)
    assert int(run.stdout) == expected_class(frozen)


@pytest.mark.parametrize("single_header", [False, True], ids=["two-files", "single-header"])
def test_cmake_fragment_builds_a_program(frozen, tmp_path, single_header):
    out = export_folder(frozen, tmp_path / "export", single_header)
    app = tmp_path / "app"
    app.mkdir()
    main = MAIN if not single_header else "#define NET_IMPLEMENTATION\n" + MAIN
    (app / "main.c").write_text(main)
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        f"include({out}/net.cmake)\nadd_executable(app main.c)\ntarget_link_libraries(app PRIVATE net)\n")
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(app), "-B", str(build)], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    run = subprocess.run([str(build / "app")], capture_output=True, text=True, check=True)
    assert int(run.stdout) == expected_class(frozen)


@pytest.mark.parametrize("single_header", [False, True], ids=["two-files", "single-header"])
def test_make_fragment_builds_a_program(frozen, tmp_path, single_header):
    out = export_folder(frozen, tmp_path / "export", single_header)
    main = MAIN if not single_header else "#define NET_IMPLEMENTATION\n" + MAIN
    (tmp_path / "main.c").write_text(main)
    (tmp_path / "Makefile").write_text(
        f"include {out}/net.mk\n"
        "app: main.c $(NET_SOURCES)\n\t$(CC) -std=c99 -O2 $(NET_CFLAGS) -o $@ $^\n")
    subprocess.run(["make", "-C", str(tmp_path), "app"], check=True, capture_output=True)
    run = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, check=True)
    assert int(run.stdout) == expected_class(frozen)
