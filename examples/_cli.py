"""What the examples share: run a command line of sbn-mcu, stop on the first failure."""

import shlex
import subprocess
import sys


def sbn(*args) -> str:
    """Run ``sbn-mcu ARGS`` (as ``python -m sbn_mcu``), echo it and its output, and return the output."""
    command = [sys.executable, "-m", "sbn_mcu", *map(str, args)]
    print("$ sbn-mcu " + " ".join(shlex.quote(str(a)) for a in args), flush=True)
    run = subprocess.run(command, capture_output=True, text=True)
    print(run.stdout, end="", flush=True)
    if run.returncode != 0:
        print(run.stderr, end="", file=sys.stderr)
        sys.exit(run.returncode)
    return run.stdout


def train_export_verify(out, name: str, *train_args, cores=("cortex-m0", "cortex-m4")) -> None:
    """train -> export -> verify on the host (whole test split) and on each QEMU core."""
    sbn("train", *train_args, "--out", out / "run")
    sbn("export", out / "run" / "model.pt", "--out", out / "export", "--name", name)
    sbn("verify", out / "export", "--host")
    for core in cores:
        sbn("verify", out / "export", "--qemu", core, "--vectors", 20)
