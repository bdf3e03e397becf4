"""The toolchain: external tools, the host gcc build, the cross build and QEMU."""

from .cross import build_firmware, size
from .host import compile_host
from .qemu import run_qemu
from .tools import ToolError, firmware_dir, require

__all__ = ["ToolError", "build_firmware", "compile_host", "firmware_dir", "require", "run_qemu", "size"]
