"""QEMU: run a bare-metal firmware on an emulated core and collect what it printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from ..errors import SbnError
from ..targets.cores import Core
from .tools import ToolError, require, run_tool


def qemu_command(elf: Path, core: Core, icount: bool = True) -> list[str]:
    """The QEMU command line that runs ``elf`` on ``core``; ``icount=False`` leaves the virtual clock
    free, for tracing with ``-singlestep`` (benchmarks/icount.py)."""
    # Semihosting output goes to a stdio chardev, i.e. to QEMU's stdout, apart
    # from QEMU's own messages on stderr. (-nographic would also claim stdio
    # for the serial port and monitor, so it is replaced by -display none
    # with both turned off.) With -icount shift=0 each guest instruction
    # advances the virtual clock by 1 ns, so timings are deterministic.
    return [require("qemu-system-arm"), "-M", core.machine, "-display", "none",
            "-monitor", "none", "-serial", "none",
            "-chardev", "stdio,id=sbn_out",
            "-semihosting-config", "enable=on,target=native,chardev=sbn_out",
            *(["-icount", "shift=0"] if icount else []), "-kernel", str(elf)]


def _fault_line(output: str) -> str | None:
    for line in output.splitlines():
        if line.startswith("FAULT"):
            return line.strip()
    return None


def _describe_fault(fault: str, elf: Path) -> str:
    """Append the function holding the faulting pc, if arm-none-eabi-nm is there."""
    m = re.search(r"pc=0x([0-9a-f]+)", fault)
    if not m:
        return fault
    pc = int(m.group(1), 16)
    try:
        out = run_tool([require("arm-none-eabi-nm"), "-n", elf], "arm-none-eabi-nm")
    except SbnError:
        return fault
    best = None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            addr = int(parts[0], 16) & ~1
            if addr <= pc:
                best = parts[2]
            else:
                break
    return f"{fault} (in {best})" if best else fault


def run_status(elf: Path, core: Core, timeout_s: float) -> tuple[int, str]:
    """Run; return (exit status, stdout). Raises on timeout, fault or QEMU error."""
    if not elf.is_file():
        raise SbnError(f"firmware {elf} does not exist; build it first")
    cmd = qemu_command(elf, core)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        fault = _fault_line(out)
        extra = f": {_describe_fault(fault, elf)}" if fault else ""
        # a short --timeout is the likelier cause than a hang: say how to tell them apart
        raise ToolError(f"QEMU did not finish within {timeout_s:g} s on {core.name} "
                        f"({core.machine}){extra}; raise --timeout (the firmware may also hang)",
                        details=out + err) from None
    except BaseException:  # Ctrl-C and friends: never leave QEMU running
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    fault = _fault_line(out)
    if fault:
        raise ToolError(f"firmware crashed on {core.name} ({core.machine}): "
                        f"{_describe_fault(fault, elf)}", details=out + err)
    qemu_msgs = [line for line in err.splitlines() if line.startswith("qemu-system-arm")]
    if proc.returncode != 0 and qemu_msgs:
        raise ToolError(f"qemu-system-arm failed on {core.name} ({core.machine}): "
                        f"{qemu_msgs[0]}", details=" ".join(cmd) + "\n" + out + err)
    return proc.returncode, out
