"""The summary's flash and RAM agree with what arm-none-eabi-size measures.

Documented tolerance: the summary counts weights, thresholds, activation
buffers and the first dense layer's 2 KB mask table. The compiled model adds
44 bytes of geometry per convolution; RAM (.bss) must match exactly.
"""

import subprocess

import pytest
import torch

from sbn_mcu import codegen
from sbn_mcu.training import freeze
from sbn_mcu.training import architectures as models
from sbn_mcu.codegen import summary
from sbn_mcu import toolchain


def sections(obj):
    out = subprocess.run([toolchain.require("arm-none-eabi-size"), "-A", str(obj)],
                         capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("."):
            sizes[parts[0]] = sizes.get(parts[0], 0) + int(parts[1])
    return sizes


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_summary_matches_arm_size(arch, tmp_path):
    torch.manual_seed(0)
    frozen = freeze.freeze(models.build_arch(arch, (1, 28, 28), 10), (1, 28, 28))
    plan = codegen.plan(frozen)
    report = summary.summarise(plan)
    for file, text in codegen.model_sources(frozen, "net").items():
        (tmp_path / file).write_text(text)
    obj = tmp_path / "net.o"
    subprocess.run([toolchain.require("arm-none-eabi-gcc"), "-mcpu=cortex-m4", "-mthumb", "-O2", "-std=c99",
                    "-fdata-sections", "-c", str(tmp_path / "net.c"), "-o", str(obj)], check=True)
    size = sections(obj)
    rodata = sum(v for k, v in size.items() if k.startswith(".rodata"))
    bss = sum(v for k, v in size.items() if k.startswith(".bss"))
    convs = sum(1 for s in plan.steps if s.geometry)
    tables = 64 if plan.steps[0].kernel == "dense_u8" else 0
    names = sum(4 + -(-(len(frozen.class_name(c).encode()) + 1) // 4) * 4 for c in range(frozen.num_classes))
    assert bss == report["total"]["ram_bytes"]
    assert 0 <= rodata - report["total"]["flash_bytes"] <= tables + 64 * convs + names + 4
    assert report["total"]["flash_bytes"] == sum(r["flash_bytes"] for r in report["layers"])
    assert report["total"]["binary_macs"] + report["total"]["integer_macs"] == sum(s.macs for s in plan.steps)
