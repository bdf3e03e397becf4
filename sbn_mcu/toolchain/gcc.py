"""The host gcc: the generated C compiled for the machine that runs sbn-mcu (verify --host, sbn_mcu.host)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .tools import PathLike, require, run_tool


HOST_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2")


def compile_host(sources: Iterable[PathLike], out_exe: PathLike,
                 include_dirs: Iterable[PathLike] = (),
                 extra_flags: Iterable[str] = ()) -> Path:
    """Compile and link C sources with the host gcc; return the executable.

    Uses ``-std=c99 -Wall -Wextra -Werror -pedantic -O2``. A compiler error
    becomes a ToolError (an SbnError) with gcc's first error line; the full
    log is in its ``details``.
    """
    gcc = require("gcc")
    sources = [Path(s) for s in sources]
    out_exe = Path(out_exe)
    out_exe.parent.mkdir(parents=True, exist_ok=True)
    cmd = [gcc, *HOST_CFLAGS, *(f"-I{d}" for d in include_dirs), *extra_flags,
           *sources, "-o", out_exe]
    names = ", ".join(s.name for s in sources)
    run_tool(cmd, f"host gcc on {names}")
    return out_exe
