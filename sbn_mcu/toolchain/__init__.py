"""The toolchain: external tools, the host gcc build, the cross build and QEMU."""

from .cross import size
from .gcc import compile_host
from .tools import ToolError, firmware_dir, require

__all__ = ["ToolError", "compile_host", "firmware_dir", "require", "size"]
