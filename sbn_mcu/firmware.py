"""Standalone firmware projects for boards, and flashing them.

``write_project`` puts an export's C beside the shared firmware sources
(``firmware/``: startup, UART drivers, the serial protocol's ``main``) and
writes the board's header, linker script, Makefile and README. The project
then builds with ``make`` and arm-none-eabi-gcc alone. ``flash`` runs the
project's ``make flash`` and turns the probe tools' failures into one line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

from . import boards, codegen
from .atomic import write_folder
from .errors import SbnError
from .export import find_model
from .toolchain import firmware_dir, require

STACK_BYTES = 2048
# Code besides the model's constants: startup, UART, protocol and the
# model's kernels. The largest measured is under 3 KB (tests/test_firmware.py
# checks this bound against arm-none-eabi-size on every board).
CODE_BYTES = 4096
RUNTIME_RAM_BYTES = 64  # the console's and cycle counter's state, alignment
# What `make` and the user may leave in a project folder that is written again.
REPLACEABLE = ("Makefile", "README.md", "board.json", "src", "model", "ld", "build")

# Shared firmware files (under firmware/) and where a project gets them.
_SHARED = {"startup.c": "src", "print.c": "src", "libc_min.c": "src", "console.h": "src",
           "ticks.c": "src", "ticks.h": "src",
           "board/main.c": "src", "board/console.c": "src", "board/protocol.h": "src", "board/uart.h": "src",
           "ld/common.ld": "ld"}


def model_files(export_dir: Path, name: str) -> dict[str, str]:
    """The export's C files by name: ``NAME.h``, and ``NAME.c`` unless it is a single header."""
    return {p.name: p.read_text() for p in (Path(export_dir) / f"{name}.h", Path(export_dir) / f"{name}.c")
            if p.is_file()}


def model_id(files: dict[str, str]) -> int:
    """CRC-32 of the model's C files, which the firmware reports so that the
    host can tell whether a board runs the model it is checking against."""
    crc = 0
    for fname in sorted(files):
        crc = zlib.crc32(f"{fname}\0{files[fname]}\0".encode(), crc)
    return crc


def check_fits(board: boards.Board, plan: codegen.Plan, input_size: int) -> tuple[int, int]:
    """The flash and RAM the firmware needs, about; refuses, with the numbers, what does not fit."""
    if input_size > 0xFFFF:
        raise SbnError(f"the model takes {input_size:,} input bytes; the serial protocol carries at most 65,535")
    # main.c's buffers: the input, the scores, and a reply of 8 bytes + 4 per class.
    buffers = input_size + 8 * plan.num_classes + 8
    flash = plan.flash_bytes + CODE_BYTES
    ram = plan.ram_bytes + buffers + RUNTIME_RAM_BYTES + STACK_BYTES
    for what, need, have in (("flash", flash, board.flash_bytes), ("RAM", ram, board.ram_bytes)):
        if need > have:
            detail = (f"{plan.flash_bytes:,} B of weights and thresholds + about {CODE_BYTES:,} B of code"
                      if what == "flash" else
                      f"{plan.ram_bytes:,} B of activations + {buffers:,} B of input and output buffers + "
                      f"{STACK_BYTES:,} B of stack")
            raise SbnError(f"the model does not fit {board.name}: it needs about {need:,} B of {what} "
                           f"({detail}) and the board has {have:,} B; choose a larger board or a smaller model")
    return flash, ram


def write_project(export_dir: Path, board_name: str, fw_dir: Path) -> dict:
    """Write a standalone project for ``board_name`` into ``fw_dir``; return what was written."""
    board = boards.get(board_name)
    name, model = find_model(export_dir)
    plan = codegen.plan(model)
    flash_estimate, ram_estimate = check_fits(board, plan, model.input_size)

    fw = firmware_dir()
    models = model_files(export_dir, name)
    files: dict[str, str] = {f"model/{fname}": text for fname, text in models.items()}
    if f"{name}.c" not in models:  # a single header: one file compiles its implementation
        files[f"model/{name}_impl.c"] = codegen.implementation_stub(name)
    for source, folder in {**_SHARED, f"board/{board.uart_driver}": "src"}.items():
        files[f"{folder}/{Path(source).name}"] = (fw / source).read_text()

    env = codegen.environment(firmware_dir() / "board")
    context = {"board": board, "name": name, "NAME": name.upper(), "baud": boards.BAUD,
               "model_id": model_id(models), "stack_bytes": STACK_BYTES,
               "flash_estimate": flash_estimate, "ram_estimate": ram_estimate}
    for template, target in (("board.h.j2", "src/board.h"), ("board.ld.j2", "ld/board.ld"),
                             ("Makefile.j2", "Makefile"), ("README.md.j2", "README.md")):
        files[target] = env.get_template(template).render(**context)
    info = {"board": board.name, "core": board.core, "model": name, "model_id": context["model_id"],
            "flash_bytes": board.flash_bytes, "ram_bytes": board.ram_bytes,
            "flash_estimate": context["flash_estimate"], "ram_estimate": context["ram_estimate"]}
    files["board.json"] = json.dumps(info, indent=2) + "\n"
    write_folder(fw_dir, files, REPLACEABLE)
    return info


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
