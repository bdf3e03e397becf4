"""The generated C stays clean under every check we can run on the host.

- cppcheck reports nothing;
- gcc and arm-none-eabi-gcc (every core's flags) accept it with
  -std=c99 -Wall -Wextra -Werror -pedantic -Wconversion -Wshadow;
- AddressSanitizer and UndefinedBehaviorSanitizer find nothing over the whole
  Fashion-MNIST test set, and the scores still equal the reference.
"""

import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from sbn_mcu import codegen
from sbn_mcu import data
from sbn_mcu.training import freeze
from sbn_mcu.training import architectures as models
from sbn_mcu.ir import reference
from sbn_mcu import toolchain
from sbn_mcu import verify
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear
from sbn_mcu.targets import cores
from strategies import randomize

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion", "-Wshadow"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"]


def models_to_check():
    torch.manual_seed(0)
    yield "mlp", models.mlp((1, 28, 28), 10)
    yield "cnn", models.cnn((1, 28, 28), 10)
    yield "linear", nn.Sequential(nn.Flatten(), SBLinear(784, 10))  # first layer gives the scores
    yield "strided", nn.Sequential(SBConv2d(1, 33, 5, stride=2, padding=2), nn.BatchNorm2d(33), SBActivation(),
                                   nn.MaxPool2d(3, 2), nn.Flatten(), SBLinear(33 * 6 * 6, 10))


@pytest.fixture(scope="module", params=list(models_to_check()), ids=lambda case: case[0])
def exported(request, tmp_path_factory):
    name, model = request.param
    frozen = freeze.freeze(randomize(model, np.random.default_rng(1)), (1, 28, 28))
    out = tmp_path_factory.mktemp(name)
    for file, text in codegen.model_sources(frozen, "net").items():
        (out / file).write_text(text)
    return frozen, out


def test_cppcheck_reports_nothing(exported):
    _, out = exported
    run = subprocess.run(["cppcheck", "--enable=warning,style,performance,portability", "--std=c99",
                          "--error-exitcode=1", "--quiet", str(out / "net.c")], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr


@pytest.mark.parametrize("core", list(cores.CORES))
def test_strict_warnings_on_every_core(exported, core, tmp_path):
    _, out = exported
    flags = cores.CORES[core].cflags
    run = subprocess.run([toolchain.require("arm-none-eabi-gcc"), *flags, *STRICT, "-O2", "-ffreestanding",
                          "-c", str(out / "net.c"), "-o", str(tmp_path / "net.o")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # no library calls: the object needs no symbol from outside
    nm = subprocess.run([toolchain.require("arm-none-eabi-nm"), "-u", str(tmp_path / "net.o")],
                        capture_output=True, text=True, check=True)
    assert nm.stdout.strip() == "", nm.stdout


def test_sanitizers_find_nothing_on_the_whole_test_set(exported):
    frozen, out = exported
    pixels, _ = data.load("fashion-mnist", "test")
    pixels = pixels.reshape(len(pixels), -1)
    got = verify.host_scores(out, "net", pixels, frozen.num_classes, extra_flags=STRICT[4:] + SANITIZE)
    np.testing.assert_array_equal(got, reference.run(frozen, pixels))
