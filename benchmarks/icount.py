"""An instruction count of one NAME_infer call, taken apart from `sbn-mcu bench`.

    python benchmarks/icount.py EXPORT_DIR [EXPORT_DIR ...] --cores cortex-m0,cortex-m4,cortex-m55

`bench` times many inferences with SysTick under `-icount shift=0` and turns
ticks into instructions. Here QEMU instead logs every instruction it executes
(`-singlestep -d exec,nochain`, one line per instruction, with its address),
and the count is the lines from the first entry into NAME_infer up to the
return address of that call: one call, with nothing of the harness in it.
Both counts go into icount.json and a table; they should agree within 3%.
A benchmark, not a test.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from sbn_mcu.bench import bench
from sbn_mcu.codegen import ExportFolder
from sbn_mcu.ir import reference
from sbn_mcu.targets.cores import resolve_core
from sbn_mcu.toolchain.qemu import qemu_command
from sbn_mcu.toolchain.tools import require
from sbn_mcu.verify.data import test_split
from sbn_mcu.verify.golden import run_golden

HERE = Path(__file__).resolve().parent
TRACE = re.compile(rb"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


def symbol_address(elf: Path, symbol: str) -> int:
    nm = subprocess.run([require("arm-none-eabi-nm"), str(elf)], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        address, _, name = line.split()[:3] if len(line.split()) >= 3 else ("", "", "")
        if name == symbol:
            return int(address, 16) & ~1
    raise SystemExit(f"{elf} has no symbol {symbol}")


def traced_instructions(elf: Path, core, entry: int, timeout_s: float = 600) -> int:
    """Instructions from the first execution of ``entry`` to the return to its caller."""
    with tempfile.TemporaryDirectory(prefix="sbn-trace-") as tmp:
        log = Path(tmp) / "trace.log"
        command = qemu_command(elf, core, icount=False)
        subprocess.run([*command, "-singlestep", "-d", "exec,nochain", "-D", str(log)],
                       capture_output=True, timeout=timeout_s)
        count, previous, back = None, None, None
        with log.open("rb") as lines:
            for line in lines:
                m = TRACE.match(line)
                if not m:
                    continue
                pc = int(m.group(1), 16)
                if count is None:
                    if pc == entry:
                        count, back = 0, previous + 4  # the caller's bl is four bytes
                    previous = pc
                    continue
                if pc == back:
                    return count
                count += 1
    raise SystemExit(f"the trace of {elf} never returned from {entry:#x}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", type=Path, nargs="+")
    parser.add_argument("--cores", default="cortex-m0,cortex-m4,cortex-m55")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    rows = []
    for path in args.exports:
        folder = ExportFolder.open(path)
        x, _ = test_split(folder.model, None, 1)
        x = x.reshape(1, -1)
        expected = reference.run(folder.model, x)
        for name in args.cores.split(","):
            core = resolve_core(name)
            with tempfile.TemporaryDirectory(prefix="sbn-icount-") as tmp:
                tmp = Path(tmp)
                run_golden(core, folder.sources(tmp), [folder.path], folder.name, x, expected, tmp / "build",
                           defines=["SBN_REPEAT=1"])
                elf = next((tmp / "build").rglob("*.elf"))
                traced = traced_instructions(elf, core, symbol_address(elf, f"{folder.name}_infer"))
            counted = bench(folder.path, [core.name], 1)[0]["instructions_per_inference"]
            rows.append({"export": str(path), "kernels": folder.model.meta.get("kernels", {}), "core": core.name,
                         "traced": traced, "bench": counted, "difference": (counted - traced) / traced})
            print(f"{path} {core.name}: traced {traced:,}, bench {counted:,} ({100 * rows[-1]['difference']:+.2f}%)",
                  flush=True)
    (args.out / "icount.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
