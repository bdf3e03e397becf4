"""`sbn-mcu bench`: every core checks golden vectors and counts instructions;
a model too big for a machine is reported, not crashed on."""

import json

import torch
from click.testing import CliRunner
from torch import nn

from sbn_mcu import codegen, freeze
from sbn_mcu.cli import main
from sbn_mcu.frozen import SUFFIX
from sbn_mcu.layers import SBActivation, SBLinear


def export_folder(model, path):
    frozen = freeze.freeze(model, (1, 28, 28), meta={"dataset": "fashion-mnist"})
    path.mkdir()
    for name, text in codegen.render(frozen, "net").items():
        (path / name).write_text(text)
    frozen.save(path / ("net" + SUFFIX))
    return path


def test_bench_reports_every_core_and_what_does_not_fit(tmp_path):
    torch.manual_seed(0)
    small = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 40), nn.BatchNorm1d(40), SBActivation(),
                                        SBLinear(40, 10)), tmp_path / "small")
    big = export_folder(nn.Sequential(nn.Flatten(), SBLinear(784, 3000), nn.BatchNorm1d(3000), SBActivation(),
                                      SBLinear(3000, 10)), tmp_path / "big")  # ~300 KB of weights
    result = CliRunner().invoke(main, ["bench", str(small), "--cpu", "cortex-m0,cortex-m4", "--vectors", "3",
                                       "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["core"] for r in rows] == ["cortex-m0", "cortex-m4"]
    for row in rows:
        assert row["fits"] and row["mismatches"] == 0
        assert row["instructions_per_inference"] > 784 * 40 / 32  # at least a word op per weight word
        assert 0 < row["stack_bytes"] < 4096 and row["model_flash_bytes"] > 784 * 40 / 8
    result = CliRunner().invoke(main, ["bench", str(big), "--cpu", "cortex-m0,cortex-m4", "--vectors", "1"])
    assert result.exit_code == 0, result.output
    m0, m4 = result.stdout.splitlines()[1:3]
    assert "does not fit" in m0 and "flash" in m0
    assert m4.startswith("cortex-m4") and "does not fit" not in m4


def test_bench_rejects_unknown_cores(tmp_path):
    result = CliRunner().invoke(main, ["bench", str(tmp_path), "--cpu", "cortex-m9"])
    assert result.exit_code == 2
    assert "cortex-m9" in result.stderr
