"""Speed and size of the two reference architectures on every emulated core.

    python benchmarks/mcu.py --mlp runs/mlp/model.pt --cnn runs/cnn/model.pt

Without checkpoints it trains them first (mlp: 15 epochs, cnn: 10 epochs, seed
0, on the CPU; the cnn takes about 20 minutes on 2 CPU cores). Each model is
exported, checked on golden vectors and counted with `sbn-mcu bench` on all
six cores: instructions per inference in total and per layer, and the loads
per word of each layer's kernel loop. Writes benchmarks/mcu.json and
benchmarks/mcu.md. A benchmark, not a test.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sbn_mcu.targets.cores import NAMES as CORES
from sbn_mcu.export import export
from sbn_mcu.bench import bench
from sbn_mcu.verify import verify_host

HERE = Path(__file__).resolve().parent
ANCHORS = {  # CMSIS-NN int8 on the same topology, QEMU, -O2 (instructions per inference)
    ("mlp", "cortex-m4"): 530_412, ("cnn", "cortex-m4"): 9_054_513,
    ("mlp", "cortex-m0"): 1_666_481, ("mlp", "cortex-m3"): 919_262,
}


def checkpoint(arch: str, given: Path | None, epochs: int, work: Path) -> Path:
    if given:
        return given
    run = work / arch
    subprocess.run([sys.executable, "-m", "sbn_mcu", "train", "--arch", arch, "--epochs", str(epochs),
                    "--out", str(run)], check=True)
    return run / "model.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlp", type=Path, help="mlp checkpoint (default: train one)")
    parser.add_argument("--cnn", type=Path, help="cnn checkpoint (default: train one)")
    parser.add_argument("--vectors", type=int, default=10, help="golden vectors per core")
    parser.add_argument("--out", type=Path, default=HERE, help="where mcu.json and mcu.md go")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for arch, given, epochs in (("mlp", args.mlp, 15), ("cnn", args.cnn, 10)):
            folder = work / f"{arch}-export"
            summary = export(checkpoint(arch, given, epochs, work), folder, name=arch)
            host = verify_host(folder)
            rows = bench(folder, CORES, args.vectors)
            results[arch] = {"accuracy": host["accuracy"], "host_mismatches": host["mismatches"],
                             "weights_and_thresholds_bytes": summary["total"]["flash_bytes"],
                             "macs": summary["total"]["binary_macs"] + summary["total"]["integer_macs"],
                             "cores": rows}
    (args.out / "mcu.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| Core | Model | Instructions / inference | CMSIS-NN int8 | Flash (model) | RAM | Stack |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for arch, result in results.items():
        for row in result["cores"]:
            anchor = ANCHORS.get((arch, row["core"]))
            if not row["fits"]:
                lines.append(f"| {row['core']} | {arch} | does not fit | | | | |")
                continue
            ratio = f" ({anchor / row['instructions_per_inference']:.1f}× ours)" if anchor else ""
            lines.append(f"| {row['core']} | {arch} | {row['instructions_per_inference']:,} | "
                         f"{f'{anchor:,}{ratio}' if anchor else '—'} | {row['model_flash_bytes']:,} B | "
                         f"{row['model_ram_bytes']:,} B | {row['stack_bytes']:,} B |")
    lines += ["", "Per layer: instructions per inference timed with a hook after each layer (its cost taken off; "
              "the layers leave out only the final argmax). Loads / word: load instructions per 32-bit word read "
              "in the innermost loop of the kernel's loop over weight words, counted in the compiled code "
              "(—: no such loop left after compiling: the first convolution's few words per position are "
              "unrolled).", "",
              "| Core | Model | Layer | Kernel | Instructions / inference | Per MAC | Loads / word |",
              "|---|---|---|---|---:|---:|---:|"]
    for arch, result in results.items():
        for row in result["cores"]:
            for layer in row.get("layers", []):
                per_mac, loads = layer["instructions_per_mac"], layer["loads_per_word"]
                lines.append(f"| {row['core']} | {arch} | {layer['layer']}: {layer['title']} | {layer['kernel']} | "
                             f"{layer['instructions']:,} | {'—' if per_mac is None else f'{per_mac:.3f}'} | "
                             f"{'—' if loads is None else f'{loads:.3f}'} |")
    notes = [f"- {arch}: hard-binary accuracy {100 * r['accuracy']:.2f}% (C, Fashion-MNIST test set), "
             f"{r['weights_and_thresholds_bytes']:,} B of weights, thresholds and kernel tables, {r['macs']:,} MACs"
             for arch, r in results.items()]
    notes.append("- Reproduce: `python benchmarks/mcu.py` (it trains both models: seed 0, CPU), or give it those "
                 "checkpoints with `--mlp` and `--cnn`.")
    (args.out / "mcu.md").write_text("\n".join(lines + [""] + notes) + "\n")
    print("\n".join(lines + [""] + notes))


if __name__ == "__main__":
    main()
