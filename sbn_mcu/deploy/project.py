"""Standalone firmware projects for boards.

``write_project`` puts an export's C beside the shared firmware sources
(``firmware/``: startup, UART drivers, the serial protocol's ``main``) and
writes the board's header, linker script, Makefile and README. The project
then builds with ``make`` and arm-none-eabi-gcc alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..codegen import ExportFolder, Plan, plan
from ..codegen.environment import render
from ..errors import SbnError
from ..files import write_folder
from ..targets import boards
from ..toolchain.tools import firmware_dir

STACK_BYTES = 2048
# Code besides the model's constants: startup, UART, protocol and the
# model's kernels. The largest measured is under 3 KB (tests/deploy/test_firmware.py
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


# What `export --board` leaves of the board's memory to the user's application, beyond the firmware's own
APP_FLASH_RESERVE_BYTES = 16 * 1024
APP_RAM_RESERVE_BYTES = 4 * 1024


def board_budget(board: boards.Board, input_bytes: int, num_classes: int) -> tuple[int, int]:
    """The flash and RAM a model may take on ``board`` (``export --board``): the board's memory less
    what :func:`board_fit` adds for the firmware, and less the application's reserve."""
    buffers = input_bytes + 8 * num_classes + 8
    return (board.flash_bytes - CODE_BYTES - APP_FLASH_RESERVE_BYTES,
            board.ram_bytes - buffers - RUNTIME_RAM_BYTES - STACK_BYTES - APP_RAM_RESERVE_BYTES)


def board_fit(board: boards.Board, plan: Plan, input_bytes: int) -> dict:
    """What the board's firmware needs, about, against what the board has: per memory, ``need``,
    ``have``, ``fits`` and ``detail`` (what the need is made of)."""
    # main.c's buffers: the input, the scores, and a reply of 8 bytes + 4 per class.
    buffers = input_bytes + 8 * plan.num_classes + 8
    flash = plan.flash_bytes + CODE_BYTES
    ram = plan.ram_bytes + buffers + RUNTIME_RAM_BYTES + STACK_BYTES
    return {
        "flash": {"need": flash, "have": board.flash_bytes, "fits": flash <= board.flash_bytes,
                  "detail": f"{plan.flash_bytes:,} B of weights and thresholds + about {CODE_BYTES:,} B of code"},
        "RAM": {"need": ram, "have": board.ram_bytes, "fits": ram <= board.ram_bytes,
                "detail": f"{plan.ram_bytes:,} B of activations + {buffers:,} B of input and output buffers + "
                          f"{STACK_BYTES:,} B of stack"},
    }


def check_fits(board: boards.Board, plan: Plan, input_bytes: int) -> tuple[int, int]:
    """The flash and RAM the firmware needs, about; refuses, with the numbers, what does not fit."""
    if input_bytes > 0xFFFF:
        raise SbnError(f"the model takes {input_bytes:,} input bytes; the serial protocol carries at most 65,535")
    fit = board_fit(board, plan, input_bytes)
    for what, memory in fit.items():
        if not memory["fits"]:
            raise SbnError(f"the model does not fit {board.name}: it needs about {memory['need']:,} B of {what} "
                           f"({memory['detail']}) and the board has {memory['have']:,} B; choose a larger board "
                           "or a smaller model")
    return fit["flash"]["need"], fit["RAM"]["need"]


def write_project(export_dir: Path, board_name: str, fw_dir: Path) -> dict:
    """Write a standalone project for ``board_name`` into ``fw_dir``; return what was written."""
    board = boards.get(board_name)
    export = ExportFolder.open(export_dir)
    name, model = export.name, export.model
    flash_estimate, ram_estimate = check_fits(board, plan(model), model.spec.input_bytes)

    fw = firmware_dir()
    files: dict[str, str] = {f"model/{fname}": text for fname, text in export.build_texts().items()}
    for source, subdir in {**_SHARED, f"board/{board.uart_driver}": "src"}.items():
        files[f"{subdir}/{Path(source).name}"] = (fw / source).read_text()

    context = {"board": board, "name": name, "NAME": name.upper(), "baud": boards.BAUD,
               "model_id": export.model_id(), "stack_bytes": STACK_BYTES,
               "flash_estimate": flash_estimate, "ram_estimate": ram_estimate}
    for template, target in (("board.h.j2", "src/board.h"), ("board.ld.j2", "ld/board.ld"),
                             ("Makefile.j2", "Makefile"), ("README.md.j2", "README.md")):
        files[target] = render(f"firmware/board/{template}", **context)
    info = {"board": board.name, "core": board.core, "model": name, "model_id": context["model_id"],
            "flash_bytes": board.flash_bytes, "ram_bytes": board.ram_bytes,
            "flash_estimate": context["flash_estimate"], "ram_estimate": context["ram_estimate"]}
    files["board.json"] = json.dumps(info, indent=2) + "\n"
    write_folder(fw_dir, files, REPLACEABLE)
    return info


