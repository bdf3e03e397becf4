"""The cross build: arm-none-eabi-gcc for one core's QEMU machine, and section sizes."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from ..targets.cores import Core
from .tools import PathLike, ToolError, firmware_dir, require, run_tool


TARGET_CFLAGS = ("-O2", "-std=c99", "-ffreestanding", "-nostdlib",
                 "-ffunction-sections", "-fdata-sections",
                 "-Wall", "-Wextra", "-Werror", "-pedantic")

# Linked into every firmware, beside the caller's sources.
_SUPPORT_SOURCES = ("startup.c", "semihost.c", "print.c", "ticks.c", "libc_min.c")


def object_names(sources: Sequence[Path]) -> list[str]:
    """One object file name per source; stems that repeat get a suffix."""
    names, seen = [], {}
    for src in sources:
        stem = src.stem
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        names.append(f"{stem}.o" if count == 0 else f"{stem}_{count}.o")
    return names


def build_objects(core: Core, sources: Sequence[Path], include_dirs: Sequence[Path],
                    build_dir: Path, defines: Sequence[str]) -> tuple[Path, list[Path]]:
    """Cross-compile ``sources`` with the startup code for ``core``; return the ELF and the object
    files of ``sources``, in order.

    Every source (the firmware's own included) is compiled with ``TARGET_CFLAGS``
    and linked ``-nostdlib`` with the machine's linker script and libgcc.
    ``defines`` are ``NAME`` or ``NAME=VALUE`` strings, passed as ``-D``.
    """
    gcc = require("arm-none-eabi-gcc")
    fw = firmware_dir()
    obj_dir = build_dir / f"obj-{core.name}"
    obj_dir.mkdir(parents=True, exist_ok=True)
    all_sources = [*sources, *(fw / s for s in _SUPPORT_SOURCES)]
    objects = [obj_dir / n for n in object_names(all_sources)]
    includes = [f"-I{d}" for d in (*include_dirs, fw)]
    flags = [*core.cflags, *TARGET_CFLAGS, *includes, *(f"-D{d}" for d in defines)]

    def compile_one(pair: tuple[Path, Path]) -> None:
        src, obj = pair
        run_tool([gcc, *flags, "-c", src, "-o", obj],
                  f"arm-none-eabi-gcc ({core.name}) on {src.name}")

    with ThreadPoolExecutor(max_workers=max(1, min(len(objects), os.cpu_count() or 1))) as pool:
        # list() re-raises the first ToolError, in source order.
        list(pool.map(compile_one, zip(all_sources, objects)))

    elf = build_dir / f"firmware-{core.name}.elf"
    # -lgcc: libgcc's helpers, e.g. integer division on the Cortex-M0, which
    # has no divide instruction, and 64-bit division on every core.
    link_map = build_dir / f"firmware-{core.name}.map"
    cmd = [gcc, *core.cflags, "-nostdlib", "-T", fw / "ld" / core.linker_script,
           f"-L{fw / 'ld'}", "-Wl,--gc-sections", f"-Wl,-Map={link_map}",
           *objects, "-lgcc", "-o", elf]
    try:
        run_tool(cmd, f"linking for {core.name}")
    except ToolError as err:
        raise explain_link_error(err, core) from None
    return elf, objects[: len(sources)]


def explain_link_error(err: ToolError, core: Core) -> ToolError:
    """Turn the linker's memory overflows into 'does not fit' messages."""
    m = re.search(r"region `(FLASH|RAM)' overflowed by (\d+) bytes", err.details)
    if m:
        flash, over = m.group(1) == "FLASH", int(m.group(2))
        return ToolError(f"firmware does not fit in {core.name} ({core.machine}) "
                         f"{'flash' if flash else 'RAM'}: "
                         f"{core.flash_bytes if flash else core.ram_bytes} bytes, "
                         f"{over} bytes over",
                         details=err.details)
    if "sbn: RAM overflow" in err.details:
        return ToolError(f"firmware does not fit in {core.name} ({core.machine}) RAM: "
                         f"{core.ram_bytes} bytes leave too little for the stack",
                         details=err.details)
    return err


def size(path: PathLike) -> dict[str, int]:
    """Section sizes of an ELF or object file, from arm-none-eabi-size.

    ``text`` includes read-only data (weights, vector table). Returns
    ``text``, ``data``, ``bss``, ``flash_bytes`` (text + data: .data's initial
    values are stored in flash) and ``ram_bytes`` (data + bss, stack excluded).
    """
    out = run_tool([require("arm-none-eabi-size"), "-B", "-d", path],
                    f"arm-none-eabi-size on {Path(path).name}")
    rows = [line.split() for line in out.splitlines()[1:] if line.strip()]
    if not rows or len(rows[0]) < 3:
        raise ToolError(f"arm-none-eabi-size printed nothing usable for {path}", details=out)
    text, data, bss = (int(v) for v in rows[0][:3])
    return {"text": text, "data": data, "bss": bss,
            "flash_bytes": text + data, "ram_bytes": data + bss}
