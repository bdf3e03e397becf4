"""Build a custom binary CNN with the Python API, train it briefly, export it
and verify the generated C on the host.

    python examples/custom_cnn.py [OUT_DIR]
"""

import sys
from pathlib import Path

from torch import nn

from sbn_mcu.export import export
from sbn_mcu.training.layers import SBActivation, SBConv2d, SBLinear, Scores
from sbn_mcu.codegen.summary import table
from sbn_mcu.training import TrainConfig, exported_record, train
from sbn_mcu.verify import verify_host

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/custom_cnn")

# 28x28 -> conv5x5/2 (pad 2) 16 ch -> 14x14 -> conv3x3 (no pad) 24 ch, pool 2 -> 6x6 -> 10 scores
model = nn.Sequential(
    SBConv2d(1, 16, kernel_size=5, stride=2, padding=2), nn.BatchNorm2d(16), SBActivation(),
    SBConv2d(16, 24, kernel_size=3), nn.BatchNorm2d(24), SBActivation(), nn.MaxPool2d(2),
    nn.Flatten(),
    SBLinear(24 * 6 * 6, 10), Scores(),
)

train(TrainConfig(epochs=1, limit=3000, v_end=100.0), out / "run", model=model)
report = export(out / "run" / "model.pt", out / "export", name="custom")
print(table(report))
result = verify_host(out / "export")
print(f"host C: {result['n']} test images, {result['mismatches']} mismatches, "
      f"accuracy {100 * result['accuracy']:.2f}% (torch hard: {100 * exported_record(out / 'run')['hard_accuracy']:.2f}%)")
sys.exit(1 if result["mismatches"] else 0)
