"""Speed and size of the two reference architectures on every emulated core, in both modes.

    python benchmarks/mcu.py --mlp runs/mlp/model.pt --cnn runs/cnn/model.pt
    python benchmarks/mcu.py --readme      # the README's table, from mcu.json

Without checkpoints it trains them first (mlp: 15 epochs, cnn: 10 epochs, seed
0, on the CPU; the cnn takes about 20 minutes on 2 CPU cores). Each model is
exported, checked on golden vectors and counted with `sbn-mcu bench`:

- size (`export --optimize size`, the default) on all six cores, with
  instructions per layer and the loads per word of each layer's kernel loop;
- speed (`export --optimize speed`) once per core within its QEMU machine's
  memory (`--board MACHINE`), and for the budgets that matter on real parts
  (SPEED_BUDGETS: 40 KB / 9 KB of model on the M0 and M4, and a
  Nucleo-F446RE).

Writes benchmarks/mcu.json and benchmarks/mcu.md. A benchmark, not a test.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sbn_mcu.targets.cores import CORES, NAMES
from sbn_mcu.export import export
from sbn_mcu.bench import bench
from sbn_mcu.files import write_between_marks
from sbn_mcu.verify import verify_host

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
MARKS = ("<!-- mcu table: python benchmarks/mcu.py --readme -->", "<!-- end of mcu table -->")
LAYER_MARKS = ("<!-- mcu layers: python benchmarks/mcu.py --readme -->", "<!-- end of mcu layers -->")
README_LAYER_CORES = ("cortex-m0", "cortex-m4")  # the README's per-layer table; mcu.md has every core
# Speed-mode exports besides each core's own machine: (label, export options, cores)
SPEED_BUDGETS = (
    ("40,960 B flash / 9,216 B RAM", {"flash_budget": 40960, "ram_budget": 9216}, ("cortex-m0", "cortex-m4")),
    ("board nucleo-f446re", {"board": "nucleo-f446re"}, ("cortex-m4",)),
)
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


def table(results: dict) -> list[str]:
    """Both modes per model and core, with CMSIS-NN's count where it was measured."""
    lines = ["| Core | Model | Mode | Instructions / inference | CMSIS-NN int8 | Flash (model) | RAM | Stack |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for arch, result in results.items():
        speed = result.get("speed", [])
        for row in sorted([*result["cores"], *speed], key=lambda r: (NAMES.index(r["core"]), "budget" in r)):
            mode = f"speed, {row['budget']}" if "budget" in row else "size"
            if not row["fits"]:
                lines.append(f"| {row['core']} | {arch} | {mode} | does not fit | | | | |")
                continue
            anchor = ANCHORS.get((arch, row["core"]))
            ratio = f" ({anchor / row['instructions_per_inference']:.1f}× ours)" if anchor else ""
            lines.append(f"| {row['core']} | {arch} | {mode} | {row['instructions_per_inference']:,} | "
                         f"{f'{anchor:,}{ratio}' if anchor else '—'} | {row['model_flash_bytes']:,} B | "
                         f"{row['model_ram_bytes']:,} B | {row['stack_bytes']:,} B |")
    return lines


def layer_table(results: dict, cores=README_LAYER_CORES) -> list[str]:
    """Size mode per layer on ``cores``: instructions, share of the inference, per MAC, loads per word."""
    lines = ["| Core | Model | Layer | Instructions / inference | Share | Per MAC | Loads / word |",
             "|---|---|---|---:|---:|---:|---:|"]
    for arch, result in results.items():
        for row in (r for r in result["cores"] if r["core"] in cores):
            for layer in row.get("layers", []):
                per_mac, loads = layer["instructions_per_mac"], layer["loads_per_word"]
                share = layer["instructions"] / row["instructions_per_inference"]
                lines.append(f"| {row['core']} | {arch} | {layer['layer']}: {layer['title']} ({layer['kernel']}) | "
                             f"{layer['instructions']:,} | {100 * share:.1f}% | "
                             f"{'—' if per_mac is None else f'{per_mac:.3f}'} | {'—' if loads is None else f'{loads:.2f}'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlp", type=Path, help="mlp checkpoint (default: train one)")
    parser.add_argument("--cnn", type=Path, help="cnn checkpoint (default: train one)")
    parser.add_argument("--vectors", type=int, default=10, help="golden vectors per core")
    parser.add_argument("--out", type=Path, default=HERE, help="where mcu.json and mcu.md go")
    parser.add_argument("--readme", action="store_true", help="only rewrite the README's table from --out's JSON")
    args = parser.parse_args()
    if args.readme:
        results = json.loads((args.out / "mcu.json").read_text())
        write_between_marks(README, MARKS, table(results))
        return write_between_marks(README, LAYER_MARKS, layer_table(results))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for arch, given, epochs in (("mlp", args.mlp, 15), ("cnn", args.cnn, 10)):
            model = checkpoint(arch, given, epochs, work)
            folder = work / f"{arch}-export"
            summary = export(model, folder, name=arch)
            host = verify_host(folder)
            rows = bench(folder, NAMES, args.vectors)
            speed = []
            configs = [(f"board {CORES[c].machine}", {"board": CORES[c].machine}, (c,)) for c in NAMES]
            for label, options, cores in (*configs, *SPEED_BUDGETS):
                fast = work / f"{arch}-speed"
                plan = export(model, fast, name=arch, optimize="speed", **options)
                for row in bench(fast, list(cores), args.vectors):
                    speed.append({"budget": label, "kernels": [layer["kernel"] for layer in row.get("layers", [])],
                                  "model_bytes": plan["total"]["flash_bytes"], **row})
            results[arch] = {"accuracy": host["accuracy"], "host_mismatches": host["mismatches"],
                             "weights_and_thresholds_bytes": summary["total"]["flash_bytes"],
                             "macs": summary["total"]["binary_macs"] + summary["total"]["integer_macs"],
                             "cores": rows, "speed": speed}
    (args.out / "mcu.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = table(results)
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
