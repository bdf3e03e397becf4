"""The C runtime as a library: each kernel file compiles alone, clean, and the public
header declares every kernel it defines."""

import re
import subprocess

import pytest

from sbn_mcu import runtime, toolchain

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wmissing-prototypes", "-Wconversion",
          "-Wsign-conversion", "-Wshadow"]
KERNELS = [name for name in runtime.files() if name.endswith(".c")]


@pytest.mark.parametrize("compiler", ["gcc", "arm-none-eabi-gcc"])
@pytest.mark.parametrize("name", KERNELS)
def test_each_kernel_compiles_alone_with_its_prototype(name, compiler, tmp_path):
    flags = ["-mcpu=cortex-m4", "-mthumb", "-O2"] if compiler.startswith("arm") else ["-O2"]
    run = subprocess.run([toolchain.require(compiler), *flags, *STRICT, "-c", str(runtime.FOLDER / name),
                          "-o", str(tmp_path / "k.o")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_public_header_declares_every_kernel():
    definition = re.compile(r"^SBN_API (?:SBN_NOINLINE )?void (sbn_\w+)\(", re.M)
    defined = {m for name in KERNELS for m in definition.findall(runtime.text(name))}
    declared = set(re.findall(r"^void (sbn_\w+)\(", runtime.text("sbn_kernels.h"), re.M))
    assert defined and defined == declared
