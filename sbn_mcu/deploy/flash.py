"""Flashing a board project through a debug probe, with pyOCD or OpenOCD."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import SbnError
from ..targets import boards
from ..toolchain.tools import require


def board_of(fw_dir: Path) -> boards.Board:
    """The board a project folder was written for."""
    path = Path(fw_dir) / "board.json"
    try:
        return boards.get(json.loads(path.read_text())["board"])
    except (OSError, ValueError, KeyError):
        raise SbnError(f"{fw_dir} is not a firmware project (no readable board.json); "
                       "write one with `sbn-mcu firmware EXPORT_DIR --board BOARD --out DIR`") from None


_NO_PROBE = re.compile(r"no (connected|available) debug probes|unable to find|open failed|"
                       r"no j-link device found|no cmsis-dap device|libusb_error|no device found", re.IGNORECASE)
_NO_TARGET = re.compile(r"target type .* not recognized", re.IGNORECASE)


def flash(fw_dir: Path, tool: str | None = None, timeout_s: float = 300) -> str:
    """Build and program the board through the project's ``make flash``; return the tool's log."""
    fw_dir = Path(fw_dir)
    board = board_of(fw_dir)
    if board.pyocd_target is None:
        raise SbnError(f"{board.name} is a QEMU machine, not a board to flash; run it with `make -C {fw_dir} run`")
    installed = [t for t in ("pyocd", "openocd") if shutil.which(t)]
    if tool is None:
        if not installed:
            raise SbnError("neither pyOCD nor OpenOCD is installed; install one: "
                           "`python3 -m pip install pyocd` or `sudo apt-get install -y openocd`")
        tool = installed[0]
    elif tool not in installed:
        raise SbnError(f"{tool} is not installed; install it with "
                       + ("`python3 -m pip install pyocd`" if tool == "pyocd" else "`sudo apt-get install -y openocd`"))
    make = shutil.which("make")
    if make is None:
        raise SbnError("make not found; install it with `sudo apt-get install -y make`")
    require("arm-none-eabi-gcc")
    try:
        run = subprocess.run([make, "-C", str(fw_dir), "flash", f"FLASH_TOOL={tool}"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SbnError(f"{tool} did not finish within {timeout_s:g} s; is the board powered and connected?") from None
    if run.returncode == 0:
        return run.stdout
    if _NO_PROBE.search(run.stdout):
        raise SbnError(f"{tool} found no debug probe: connect {board.title} by USB "
                       "(and check permissions: udev rules for the probe, or run as root)")
    if tool == "pyocd" and _NO_TARGET.search(run.stdout):
        raise SbnError(f"pyOCD does not know {board.pyocd_target}; install its pack with "
                       f"`pyocd pack install {board.pyocd_target}`")
    lines = [line.strip() for line in run.stdout.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()] or lines[-1:] or ["(no output)"]
    raise SbnError(f"flashing {board.name} with {tool} failed: {errors[0]}")
