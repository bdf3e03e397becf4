"""External tools: where they are, how to run them, and the one-line errors they give.

Only the standard library is used. Each tool has an environment override and
the Debian packages that install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Sequence, Union

from ..errors import SbnError
from ..files import resource_dir

PathLike = Union[str, "os.PathLike[str]"]


def firmware_dir() -> Path:
    """The firmware sources (startup code, linker scripts, harness, board files).

    ``SBN_MCU_FIRMWARE`` overrides the folder the package ships.
    """
    override = os.environ.get("SBN_MCU_FIRMWARE")
    folder = Path(override) if override else resource_dir("firmware")
    if not (folder / "startup.c").is_file():
        raise SbnError(f"sbn_mcu's firmware files are missing (looked in {folder}); "
                       "reinstall sbn-mcu or set SBN_MCU_FIRMWARE to its firmware/ folder")
    return folder


class ToolError(SbnError):
    """A tool failed. The message is one line; ``details`` has the full log."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


_GCC_ARM_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi"

# tool -> (environment override, apt packages that provide it)
_TOOLS = {
    "gcc": ("SBN_MCU_GCC", "gcc"),
    "arm-none-eabi-gcc": ("SBN_MCU_ARM_GCC", _GCC_ARM_PACKAGES),
    "arm-none-eabi-size": ("SBN_MCU_ARM_SIZE", _GCC_ARM_PACKAGES),
    "arm-none-eabi-nm": ("SBN_MCU_ARM_NM", _GCC_ARM_PACKAGES),
    "arm-none-eabi-objdump": ("SBN_MCU_ARM_OBJDUMP", _GCC_ARM_PACKAGES),
    "qemu-system-arm": ("SBN_MCU_QEMU", "qemu-system-arm"),
}


def require(tool: str) -> str:
    """The path of ``tool``, or an SbnError with the command that installs it.

    Each tool has an environment override (``SBN_MCU_GCC``, ``SBN_MCU_ARM_GCC``,
    ``SBN_MCU_ARM_SIZE``, ``SBN_MCU_ARM_NM``, ``SBN_MCU_ARM_OBJDUMP``,
    ``SBN_MCU_QEMU``) holding a path
    or a command name. The binutils default to the ones beside an overridden
    ``arm-none-eabi-gcc``.
    """
    if tool not in _TOOLS:
        raise SbnError(f"unknown tool {tool!r}; known: {', '.join(_TOOLS)}")
    env_var, packages = _TOOLS[tool]
    install = f"sudo apt-get install -y {packages}"
    wanted = os.environ.get(env_var)
    source = f"{env_var}={wanted}" if wanted else None
    if not wanted and tool.startswith("arm-none-eabi-") and tool != "arm-none-eabi-gcc":
        arm_gcc = os.environ.get("SBN_MCU_ARM_GCC")
        if arm_gcc and arm_gcc.endswith("gcc"):
            wanted = arm_gcc[: -len("gcc")] + tool[len("arm-none-eabi-"):]
            source = f"SBN_MCU_ARM_GCC={arm_gcc}"
    found = shutil.which(wanted or tool)
    if found is None:
        where = f"{wanted} (from {source})" if source else f"{tool} on PATH"
        raise SbnError(f"{tool} not found: no {where}; install it with `{install}`"
                       + (f" or fix {env_var}" if source else ""))
    return found


def first_error_line(log: str) -> str:
    """The line of a gcc/ld log that says what went wrong, without ld's summary."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("collect2:")]
    for pattern in (r"\berror\b", r"undefined reference|multiple definition|overflow",
                    r"\bwarning\b"):
        for line in useful:
            if re.search(pattern, line, re.IGNORECASE):
                return line
    return (useful or lines or ["(no output)"])[0]


def run_tool(cmd: Sequence[str], what: str) -> str:
    """Run a compiler-like tool; a non-zero exit becomes a ToolError."""
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        log = " ".join(str(c) for c in cmd) + "\n" + proc.stdout
        raise ToolError(f"{what} failed: {first_error_line(proc.stdout)}", details=log)
    return proc.stdout
