"""Toolchain runners: compile generated C on the host and for Cortex-M cores,
and run golden vectors in QEMU, measuring instructions per inference.

The firmware this module builds lives in the top-level ``firmware/`` folder
(startup code, semihosting output, a linker script per QEMU machine, and the
golden-vector harness). Only the standard library, numpy and jinja2 are used.

Public API:

- ``CORES`` and ``resolve_core``: the emulated cores and their QEMU machines.
- ``require``: the path of an external tool, or an SbnError saying how to
  install it.
- ``compile_host``: gcc on the host.
- ``build_firmware``, ``size``: arm-none-eabi-gcc and arm-none-eabi-size.
- ``run_qemu``: run a firmware ELF in QEMU and return what it printed.
- ``run_golden``: the three together on golden vectors -> ``GoldenResult``,
  optionally with instructions per layer and the loads of each kernel's loop.
- ``word_loops``: the loads in each kernel's loop over weight words, read
  from the compiled code.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np

from .errors import SbnError

PathLike = Union[str, "os.PathLike[str]"]

# --------------------------------------------------------------------------
# Cores


@dataclass(frozen=True)
class Core:
    """One Cortex-M core as emulated by one QEMU 7.2 machine.

    ``flash_*`` and ``ram_*`` describe the memory the firmware is linked into
    (``firmware/ld/<machine>.ld`` holds the same numbers, and a test checks that
    they agree). On the mps2/mps3 boards "flash" is the SRAM that QEMU loads
    the code into.
    """

    name: str
    machine: str
    cflags: tuple[str, ...]
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    linker_script: str
    has_hw_divide: bool

    @property
    def linker_script_path(self) -> Path:
        return firmware_dir() / "ld" / self.linker_script


def _core(name: str, machine: str, cflags: Sequence[str], flash: tuple[int, int],
          ram: tuple[int, int], has_hw_divide: bool = True) -> Core:
    return Core(name=name, machine=machine, cflags=tuple(cflags),
                flash_origin=flash[0], flash_bytes=flash[1],
                ram_origin=ram[0], ram_bytes=ram[1],
                linker_script=f"{machine}.ld", has_hw_divide=has_hw_divide)


_K = 1024
_M = 1024 * 1024


class _CoreTable(dict):
    """A dict keyed by core name that also answers to the QEMU machine name.

    Iterating gives each core once; ``CORES["mps2-an386"]`` is
    ``CORES["cortex-m4"]``.
    """

    def __missing__(self, key: str) -> Core:
        for core in self.values():
            if core.machine == key:
                return core
        raise KeyError(key)


# Hard-float ABI with the FPU each QEMU core has: models are integer-only,
# but the firmware should link with the float code of a real application.
CORES: dict[str, Core] = _CoreTable({
    c.name: c for c in (
        _core("cortex-m0", "microbit",
              ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
              (0x00000000, 256 * _K), (0x20000000, 16 * _K), has_hw_divide=False),
        _core("cortex-m3", "mps2-an385",
              ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m4", "mps2-an386",
              ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m7", "mps2-an500",
              ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
              (0x00000000, 4 * _M), (0x20000000, 4 * _M)),
        _core("cortex-m33", "mps2-an505",
              ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
              (0x10000000, 4 * _M), (0x38000000, 4 * _M)),
        _core("cortex-m55", "mps3-an547",
              ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-mfpu=auto"],
              (0x00000000, 512 * _K), (0x20000000, 512 * _K)),
    )
})


def resolve_core(core: Union[str, Core]) -> Core:
    """A Core from a core name (``cortex-m4``) or a QEMU machine (``mps2-an386``)."""
    if isinstance(core, Core):
        return core
    try:
        return CORES[core]
    except KeyError:
        known = ", ".join(f"{c.name} ({c.machine})" for c in CORES.values())
        raise SbnError(f"unknown core {core!r}; choose one of: {known}") from None


def firmware_dir() -> Path:
    """The folder with startup code, linker scripts and the harness.

    ``SBN_MCU_FIRMWARE`` overrides it. Otherwise it is ``firmware/`` inside
    the installed package if the wheel put it there, else the top-level
    ``firmware/`` beside the package in a source checkout.
    """
    override = os.environ.get("SBN_MCU_FIRMWARE")
    candidates = [Path(override)] if override else []
    here = Path(__file__).resolve().parent
    candidates += [here / "firmware", here.parent / "firmware"]
    for candidate in candidates:
        if (candidate / "startup.c").is_file():
            return candidate
    raise SbnError(
        "sbn_mcu's firmware files are missing (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall sbn-mcu or set SBN_MCU_FIRMWARE to its firmware/ folder")


# --------------------------------------------------------------------------
# External tools


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


def _first_error_line(log: str) -> str:
    """The line of a gcc/ld log that says what went wrong, without ld's summary."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("collect2:")]
    for pattern in (r"\berror\b", r"undefined reference|multiple definition|overflow",
                    r"\bwarning\b"):
        for line in useful:
            if re.search(pattern, line, re.IGNORECASE):
                return line
    return (useful or lines or ["(no output)"])[0]


def _run_tool(cmd: Sequence[str], what: str) -> str:
    """Run a compiler-like tool; a non-zero exit becomes a ToolError."""
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        log = " ".join(str(c) for c in cmd) + "\n" + proc.stdout
        raise ToolError(f"{what} failed: {_first_error_line(proc.stdout)}", details=log)
    return proc.stdout


# --------------------------------------------------------------------------
# Host builds

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
    _run_tool(cmd, f"host gcc on {names}")
    return out_exe


# --------------------------------------------------------------------------
# Firmware builds

TARGET_CFLAGS = ("-O2", "-std=c99", "-ffreestanding", "-nostdlib",
                 "-ffunction-sections", "-fdata-sections",
                 "-Wall", "-Wextra", "-Werror", "-pedantic")

# Linked into every firmware, beside the caller's sources.
_SUPPORT_SOURCES = ("startup.c", "semihost.c", "print.c", "ticks.c", "libc_min.c")


def _object_names(sources: Sequence[Path]) -> list[str]:
    """One object file name per source; stems that repeat get a suffix."""
    names, seen = [], {}
    for src in sources:
        stem = src.stem
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        names.append(f"{stem}.o" if count == 0 else f"{stem}_{count}.o")
    return names


def _build_firmware(core: Core, sources: Sequence[Path], include_dirs: Sequence[Path],
                    build_dir: Path, defines: Sequence[str]) -> tuple[Path, list[Path]]:
    """Build; return the ELF and the object files of ``sources``, in order."""
    gcc = require("arm-none-eabi-gcc")
    fw = firmware_dir()
    obj_dir = build_dir / f"obj-{core.name}"
    obj_dir.mkdir(parents=True, exist_ok=True)
    all_sources = [*sources, *(fw / s for s in _SUPPORT_SOURCES)]
    objects = [obj_dir / n for n in _object_names(all_sources)]
    includes = [f"-I{d}" for d in (*include_dirs, fw)]
    flags = [*core.cflags, *TARGET_CFLAGS, *includes, *(f"-D{d}" for d in defines)]

    def compile_one(pair: tuple[Path, Path]) -> None:
        src, obj = pair
        _run_tool([gcc, *flags, "-c", src, "-o", obj],
                  f"arm-none-eabi-gcc ({core.name}) on {src.name}")

    with ThreadPoolExecutor(max_workers=max(1, min(len(objects), os.cpu_count() or 1))) as pool:
        # list() re-raises the first ToolError, in source order.
        list(pool.map(compile_one, zip(all_sources, objects)))

    elf = build_dir / f"firmware-{core.name}.elf"
    # -lgcc: libgcc's helpers, e.g. integer division on the Cortex-M0, which
    # has no divide instruction, and 64-bit division on every core.
    link_map = build_dir / f"firmware-{core.name}.map"
    cmd = [gcc, *core.cflags, "-nostdlib", "-T", core.linker_script_path,
           f"-L{fw / 'ld'}", "-Wl,--gc-sections", f"-Wl,-Map={link_map}",
           *objects, "-lgcc", "-o", elf]
    try:
        _run_tool(cmd, f"linking for {core.name}")
    except ToolError as err:
        raise _explain_link_error(err, core) from None
    return elf, objects[: len(sources)]


def _explain_link_error(err: ToolError, core: Core) -> ToolError:
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


def build_firmware(core: Union[str, Core], sources: Iterable[PathLike],
                   include_dirs: Iterable[PathLike], build_dir: PathLike,
                   defines: Iterable[str] = ()) -> Path:
    """Cross-compile ``sources`` with the startup code for ``core``; return the ELF.

    Every source (the firmware's own included) is compiled with
    ``-O2 -std=c99 -ffreestanding -Wall -Wextra -Werror -pedantic`` and
    linked ``-nostdlib`` with the machine's linker script and libgcc.
    ``defines`` are ``NAME`` or ``NAME=VALUE`` strings, passed as ``-D``.
    """
    elf, _ = _build_firmware(resolve_core(core), [Path(s) for s in sources],
                             [Path(d) for d in include_dirs], Path(build_dir),
                             list(defines))
    return elf


def size(path: PathLike) -> dict[str, int]:
    """Section sizes of an ELF or object file, from arm-none-eabi-size.

    ``text`` includes read-only data (weights, vector table). Returns
    ``text``, ``data``, ``bss``, ``flash_bytes`` (text + data: .data's initial
    values are stored in flash) and ``ram_bytes`` (data + bss, stack excluded).
    """
    out = _run_tool([require("arm-none-eabi-size"), "-B", "-d", path],
                    f"arm-none-eabi-size on {Path(path).name}")
    rows = [line.split() for line in out.splitlines()[1:] if line.strip()]
    if not rows or len(rows[0]) < 3:
        raise ToolError(f"arm-none-eabi-size printed nothing usable for {path}", details=out)
    text, data, bss = (int(v) for v in rows[0][:3])
    return {"text": text, "data": data, "bss": bss,
            "flash_bytes": text + data, "ram_bytes": data + bss}


# --------------------------------------------------------------------------
# QEMU


def _qemu_command(elf: Path, core: Core) -> list[str]:
    # Semihosting output goes to a stdio chardev, i.e. to QEMU's stdout, apart
    # from QEMU's own messages on stderr. (-nographic would also claim stdio
    # for the serial port and monitor, so it is replaced by -display none
    # with both turned off.) With -icount shift=0 each guest instruction
    # advances the virtual clock by 1 ns, so timings are deterministic.
    return [require("qemu-system-arm"), "-M", core.machine, "-display", "none",
            "-monitor", "none", "-serial", "none",
            "-chardev", "stdio,id=sbn_out",
            "-semihosting-config", "enable=on,target=native,chardev=sbn_out",
            "-icount", "shift=0", "-kernel", str(elf)]


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
        out = _run_tool([require("arm-none-eabi-nm"), "-n", elf], "arm-none-eabi-nm")
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


def _run_qemu(elf: Path, core: Core, timeout_s: float) -> tuple[int, str]:
    """Run; return (exit status, stdout). Raises on timeout, fault or QEMU error."""
    if not elf.is_file():
        raise SbnError(f"firmware {elf} does not exist; build it first")
    cmd = _qemu_command(elf, core)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        fault = _fault_line(out)
        extra = f": {_describe_fault(fault, elf)}" if fault else ""
        raise ToolError(f"QEMU did not finish within {timeout_s:g} s on {core.name} "
                        f"({core.machine}) (firmware hung?){extra}",
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


def run_qemu(elf: PathLike, core: Union[str, Core], timeout_s: float = 60,
             check: bool = True) -> str:
    """Run a firmware ELF on ``core``'s QEMU machine; return what it printed.

    Raises SbnError if QEMU runs past ``timeout_s`` (it is killed), if the
    firmware printed a FAULT line, if QEMU itself failed, or, with ``check``,
    if the firmware exited with a non-zero status.
    """
    core = resolve_core(core)
    status, out = _run_qemu(Path(elf), core, timeout_s)
    if check and status != 0:
        last = [line for line in out.splitlines() if line.strip()]
        raise ToolError(f"firmware exited with status {status} on {core.name} "
                        f"({core.machine})" + (f": {last[-1]}" if last else ""),
                        details=out)
    return out


# --------------------------------------------------------------------------
# Kernel loops in the compiled code

# A comment "word loop: NAME" on the first line of a kernel's loop over weight
# words marks it (templates/kernels/bits.c).
_LOOP_MARK = re.compile(r"/\*\s*word loop: ([A-Za-z0-9_]+)")
_CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le")
# Bytes read by one load instruction with a single transfer register.
_LOAD_BYTES = {"ldr": 4, "ldrb": 1, "ldrsb": 1, "ldrh": 2, "ldrsh": 2, "ldrd": 8, "ldrt": 4, "ldrbt": 1,
               "ldrsbt": 1, "ldrht": 2, "ldrsht": 2, "ldrex": 4, "ldrexb": 1, "ldrexh": 2, "lda": 4, "ldab": 1,
               "ldah": 2, "ldaex": 4, "ldaexb": 1, "ldaexh": 2}
_BRANCH = re.compile(r"(b(?:%s)?|le|letp|cbn?z)" % "|".join(_CONDITIONS))


def _base_mnemonic(mnemonic: str) -> str:
    """``ldr.w`` -> ``ldr``, ``ldrbeq`` -> ``ldrb``; other mnemonics lose their suffix only.

    >>> [_base_mnemonic(m) for m in ("ldr.w", "ldrbeq", "bne.n", "vldrw.u32")]
    ['ldr', 'ldrb', 'bne', 'vldrw']
    """
    base = mnemonic.split(".")[0]
    if base not in _LOAD_BYTES and base[:-2] in _LOAD_BYTES and base[-2:] in _CONDITIONS:
        return base[:-2]
    return base


def _register_words(operands: str) -> int:
    """32-bit words of the registers in a list such as ``{r4, r5-r7}`` or ``{d8-d9}``.

    >>> _register_words("r0!, {r4, r5-r7, lr}"), _register_words("sp!, {d8-d9, s0}")
    (5, 5)
    """
    words = 0
    listed = operands[operands.find("{") + 1: operands.rfind("}")]
    for item in filter(None, (x.strip() for x in listed.split(","))):
        first, _, last = item.partition("-")
        count = int(last[1:]) - int(first[1:]) + 1 if last else 1
        words += 2 * count if first[0] == "d" else count
    return words


def _load_bytes(mnemonic: str, operands: str) -> int:
    """Bytes one instruction loads from memory; 0 for anything that is not a load.

    >>> [_load_bytes(m, o) for m, o in (("ldrd", "r2, r3, [r0]"), ("ldmia.w", "r9!, {r8, sl, fp}"),
    ...     ("ldrb.w", "r3, [r1, #1]"), ("vldrb.u32", "q0, [r1]"), ("vldrw.u32", "q1, [r2], #16"),
    ...     ("str", "r0, [r1]"))]
    [8, 12, 1, 4, 16, 0]
    """
    base = _base_mnemonic(mnemonic)
    if base in _LOAD_BYTES:
        return _LOAD_BYTES[base]
    if base.startswith("ldm") or base in ("pop", "vpop") or base.startswith("vldm"):
        return 4 * _register_words(operands)
    if base == "vldr":
        return 8 if operands.strip().startswith("d") else 4
    m = re.fullmatch(r"vldr([bhwd])", base)
    if m:  # MVE: a q register of lanes, each read from a byte, halfword, word or doubleword
        memory = {"b": 1, "h": 2, "w": 4, "d": 8}[m.group(1)]
        lane_bits = re.search(r"(\d+)$", mnemonic)
        lanes = 128 // int(lane_bits.group(1)) if lane_bits else 16 // memory
        return lanes * memory
    if re.fullmatch(r"vld[24][0-3]", base):
        return 16
    return 0


def _disassembly(listing: str) -> tuple[list[dict], list[tuple[str, int, int]]]:
    """Instructions and loops of ``objdump -d -l --no-show-raw-insn`` output.

    Instructions carry their section, address, mnemonic, operands and source
    (file, line); a loop is a backward branch: (section, target, branch address).
    """
    instructions, loops = [], []
    section, where = "", ("", 0)
    for line in listing.splitlines():
        m = re.match(r"Disassembly of section (\S+):", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"(\S+):(\d+)(?: \(discriminator \d+\))?$", line)
        if m:
            where = (m.group(1), int(m.group(2)))
            continue
        m = re.match(r"\s+([0-9a-f]+):\s+([a-z][\w.]*)\s*(.*)$", line)
        if not m:
            continue
        address, mnemonic, operands = int(m.group(1), 16), m.group(2), m.group(3)
        instructions.append({"section": section, "address": address, "mnemonic": mnemonic,
                             "operands": operands, "source": where})
        target = re.search(r"\b([0-9a-f]+) <", operands)
        if _BRANCH.fullmatch(mnemonic.split(".")[0]) and target and int(target.group(1), 16) <= address:
            loops.append((section, int(target.group(1), 16), address))
    return instructions, loops


def _marks(paths: Iterable[str]) -> dict[tuple[str, int], str]:
    """(file, line) -> NAME for every ``word loop: NAME`` comment in the files."""
    marks = {}
    for path in paths:
        if Path(path).is_file():
            for number, text in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
                m = _LOOP_MARK.search(text)
                if m:
                    marks[(path, number)] = m.group(1)
    return marks


def word_loops(core: Union[str, Core], sources: Iterable[PathLike], include_dirs: Iterable[PathLike],
               build_dir: PathLike, defines: Iterable[str] = ()) -> dict[str, dict]:
    """Loads in each kernel's loop over weight words, read from the compiled code.

    The sources are compiled as for the firmware plus ``-g`` (which changes
    no instruction) and disassembled with their source lines. A kernel's
    word loop is the innermost loop (a backward branch) around code from the
    line marked ``word loop: NAME``; what is counted is the innermost loop
    inside it (the loop itself, or e.g. a loop over the bytes of a word that
    the compiler kept), the code that runs most often. Returns, per NAME and per pass of
    that loop: ``instructions``, ``loads`` (load instructions), ``words``
    (32-bit words they read) and ``loads_per_word``. A marked loop that the
    compiler removed is left out.
    """
    core = resolve_core(core)
    gcc, objdump = require("arm-none-eabi-gcc"), require("arm-none-eabi-objdump")
    out_dir = Path(build_dir) / f"loops-{core.name}"
    out_dir.mkdir(parents=True, exist_ok=True)
    flags = [*core.cflags, *TARGET_CFLAGS, "-g", *(f"-I{d}" for d in (*include_dirs, firmware_dir())),
             *(f"-D{d}" for d in defines)]
    found: dict[str, dict] = {}
    sources = [Path(s) for s in sources]
    for source, obj_name in zip(sources, _object_names(sources)):
        obj = out_dir / obj_name
        _run_tool([gcc, *flags, "-c", source, "-o", obj], f"arm-none-eabi-gcc ({core.name}) on {source.name}")
        instructions, loops = _disassembly(_run_tool([objdump, "-d", "-l", "--no-show-raw-insn", obj],
                                                     f"arm-none-eabi-objdump on {obj.name}"))
        marks = _marks({i["source"][0] for i in instructions})

        def inside(loop, i):
            return i["section"] == loop[0] and loop[1] <= i["address"] <= loop[2]

        for name in sorted(set(marks.values()) - set(found)):
            marked = [i for i in instructions if marks.get(i["source"]) == name]
            around = [lp for lp in loops if any(inside(lp, i) for i in marked)]
            if not around:
                continue
            outer = min(around, key=lambda lp: lp[2] - lp[1])  # inlined copies are alike: take one
            loop = min((lp for lp in loops if lp[0] == outer[0] and outer[1] <= lp[1] and lp[2] <= outer[2]),
                       key=lambda lp: lp[2] - lp[1])
            body = [i for i in instructions if inside(loop, i)]
            loaded = [_load_bytes(i["mnemonic"], i["operands"]) for i in body]
            loads, words = sum(b > 0 for b in loaded), sum(loaded) / 4
            found[name] = {"instructions": len(body), "loads": loads, "words": words,
                           "loads_per_word": round(loads / words, 3) if words else 0.0}
    return found


# --------------------------------------------------------------------------
# Golden vectors


@dataclass
class GoldenResult:
    """What ``run_golden`` measured on one core.

    ``instructions_per_inference`` counts guest instructions (not cycles) for
    one call of the model's infer function, call and return included.
    ``flash_bytes``/``ram_bytes`` are the whole firmware's; the ``model_*``
    ones are the model's object files alone (text+data and data+bss), and
    ``model_stack_bytes`` is the stack one inference used.
    """

    core: str
    machine: str
    n: int
    passed: list[bool]
    mismatches: int
    instructions_per_inference: int
    flash_bytes: int
    ram_bytes: int
    model_flash_bytes: int
    model_ram_bytes: int
    model_stack_bytes: int
    instructions_per_tick: float
    repeats: int
    log: str
    # With profile=True: instructions per inference of each layer (the model's
    # steps, in order), the cost of one profiling hook call that was taken off
    # each, and word_loops() of the model's sources.
    layer_instructions: list[int] | None = None
    hook_instructions: float | None = None
    word_loops: dict[str, dict] | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def _c_int32(value: int) -> str:
    """A C literal for an int32 value.

    >>> _c_int32(-5)
    '-5'
    >>> _c_int32(-2**31)
    '(-2147483647 - 1)'
    """
    value = int(value)
    return "(-2147483647 - 1)" if value == -2**31 else str(value)


def _golden_header(name: str, header: str, inputs: np.ndarray, expected: np.ndarray) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(firmware_dir() / "harness")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        autoescape=False)
    env.filters["c_int32"] = _c_int32
    return env.get_template("golden.h.j2").render(
        name=name.lower(), macro=name.upper(), header=header,
        count=inputs.shape[0], input_size=inputs.shape[1],
        num_classes=expected.shape[1],
        inputs=inputs.tolist(), expected=expected.tolist(),
        argmax=np.argmax(expected, axis=1).tolist())


def _check_golden_arrays(inputs: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inputs = np.asarray(inputs)
    expected = np.asarray(expected)
    if inputs.ndim != 2 or expected.ndim != 2 or inputs.shape[0] != expected.shape[0] \
            or inputs.shape[0] == 0:
        raise SbnError(f"golden vectors need inputs (K, INPUT_SIZE) and expected "
                       f"(K, NUM_CLASSES) with the same K >= 1; got {inputs.shape} "
                       f"and {expected.shape}")
    if not np.issubdtype(inputs.dtype, np.integer) or inputs.min() < 0 or inputs.max() > 255:
        raise SbnError(f"golden inputs must be uint8 values; got dtype {inputs.dtype}")
    if not np.issubdtype(expected.dtype, np.integer) \
            or expected.min() < -2**31 or expected.max() >= 2**31:
        raise SbnError(f"expected scores must be int32 values; got dtype {expected.dtype}")
    return inputs.astype(np.uint8), expected.astype(np.int64)


# The function the golden harness defines for the model's per-layer hook.
LAYER_HOOK = "sbn_golden_layer_done"

_FIELDS = ("calib_instructions", "calib_ticks", "overhead_ticks", "work_ticks",
           "repeats", "stack_bytes")
_PROFILE_FIELDS = ("hook_calls", "hook_ticks", "layers")


def _parse_golden(log: str, k: int, core: Core,
                  profiled: bool = False) -> tuple[list[bool], dict, int]:
    """Vector verdicts, the numeric fields and the mismatch count of a golden run.

    With ``profiled``, the fields also hold the hook's and ``layer_ticks``,
    the list of each layer's ticks.
    """
    passed: dict[int, bool] = {}
    fields: dict = {}
    layer_ticks: dict[int, int] = {}
    wanted = _FIELDS + (_PROFILE_FIELDS if profiled else ())
    done = None
    for line in log.splitlines():
        m = re.match(r"vector (\d+) (ok|FAIL)\b", line)
        if m:
            passed[int(m.group(1))] = m.group(2) == "ok"
            continue
        m = re.match(r"layer (\d+) ticks (\d+)$", line.strip())
        if m:
            layer_ticks[int(m.group(1))] = int(m.group(2))
            continue
        m = re.match(r"done mismatches (\d+)$", line.strip())
        if m:
            done = int(m.group(1))
            continue
        m = re.match(r"([a-z_]+) (\d+)$", line.strip())
        if m and m.group(1) in wanted:
            fields[m.group(1)] = int(m.group(2))
    where = f"{core.name} ({core.machine})"
    errors = [line.strip() for line in log.splitlines() if line.startswith("error")]
    if errors:
        raise ToolError(f"golden firmware on {where}: {errors[0]}", details=log)
    if sorted(passed) != list(range(k)) or done is None or set(wanted) - set(fields) \
            or (profiled and sorted(layer_ticks) != list(range(fields["layers"]))):
        tail = [line for line in log.splitlines() if line.strip()][-1:]
        raise ToolError(f"golden firmware on {where} stopped before its report"
                        + (f"; last line: {tail[0]}" if tail else "; it printed nothing"),
                        details=log)
    if profiled:
        fields["layer_ticks"] = [layer_ticks[i] for i in range(fields["layers"])]
    return [passed[i] for i in range(k)], fields, done


def _build_and_run(core: Core, sources: list[Path], include_dirs: list[Path], build_dir: Path,
                   defines: list[str], name: str, inputs: np.ndarray, expected: np.ndarray,
                   timeout_s: float, profiled: bool):
    """Build the golden firmware, run it and parse its report: (elf, objects, passed, fields, mismatches, log)."""
    try:
        elf, objects = _build_firmware(core, sources, include_dirs, build_dir, defines)
    except ToolError as err:
        for what, got in (("input_size_matches", f"{inputs.shape[1]} inputs"),
                          ("classes_match", f"{expected.shape[1]} expected scores")):
            if f"sbn_golden_{what}_" in str(err):
                macro = "INPUT_SIZE" if what == "input_size_matches" else "NUM_CLASSES"
                raise ToolError(f"the golden vectors have {got} each, which is not "
                                f"{name.upper()}_{macro} in {name}.h", details=err.details) \
                    from None
        raise
    status, log = _run_qemu(elf, core, timeout_s)
    passed, f, mismatches = _parse_golden(log, inputs.shape[0], core, profiled)
    where = f"{core.name} ({core.machine})"
    if mismatches != passed.count(False) or (status == 0) != (mismatches == 0):
        raise ToolError(f"golden firmware on {where} contradicts itself: {mismatches} "
                        f"mismatches reported, {passed.count(False)} failing vectors, "
                        f"exit status {status}", details=log)
    if f["calib_ticks"] <= 0 or f["repeats"] <= 0:
        raise ToolError(f"golden firmware on {where}: SysTick did not count", details=log)
    return elf, objects, passed, f, mismatches, log


def run_golden(core: Union[str, Core], model_sources: Iterable[PathLike],
               include_dirs: Iterable[PathLike], name: str, inputs: np.ndarray,
               expected: np.ndarray, build_dir: PathLike, timeout_s: float = 120,
               defines: Iterable[str] = (), profile: bool = False) -> GoldenResult:
    """Check a generated model against golden vectors on an emulated core.

    ``name`` is the model's prefix: the harness includes ``<name>.h`` and
    calls ``<name>_infer`` with ``<NAME>_INPUT_SIZE`` and ``<NAME>_NUM_CLASSES``.
    ``inputs`` is (K, INPUT_SIZE) uint8, ``expected`` (K, NUM_CLASSES) int32;
    the returned class must be the first index of the highest expected score.

    Mismatches do not raise: they are in ``passed``/``mismatches`` and the
    log names every differing score. Build errors, a crash, a hang past
    ``timeout_s`` or an incomplete report raise SbnError.

    ``defines`` go to every compiled file: e.g. ``SBN_REPEAT=100`` fixes the
    number of timed inferences (by default the harness picks whole passes
    over the vectors lasting >= ``SBN_TARGET_TICKS``, 20000 SysTick ticks).
    One ``build_dir`` can serve several cores.

    With ``profile``, a second firmware is built with the model's per-layer
    hook (``SBN_LAYER_HOOK``), checked on the same vectors and timed layer by
    layer: ``layer_instructions`` holds each layer's instructions per
    inference, less one hook call (timed apart), and ``word_loops`` the loads
    of each kernel's loop. The totals and sizes always come from the build
    without the hook.
    """
    core = resolve_core(core)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SbnError(f"model name {name!r} is not a C identifier")
    inputs, expected = _check_golden_arrays(inputs, expected)
    k = inputs.shape[0]
    build_dir = Path(build_dir)
    golden_dir = build_dir / "golden"
    golden_dir.mkdir(parents=True, exist_ok=True)
    (golden_dir / "golden.h").write_text(
        _golden_header(name, f"{name}.h", inputs, expected))

    model_sources = [Path(s) for s in model_sources]
    sources = [*model_sources, firmware_dir() / "harness" / "golden_main.c"]
    include_dirs = [golden_dir, *(Path(d) for d in include_dirs)]
    defines = list(defines)
    elf, objects, passed, f, mismatches, log = _build_and_run(
        core, sources, include_dirs, build_dir, defines, name, inputs, expected, timeout_s, False)
    whole = size(elf)
    model_sizes = [size(o) for o in objects[: len(model_sources)]]
    per_tick = f["calib_instructions"] / f["calib_ticks"]
    work = max(0, f["work_ticks"] - f["overhead_ticks"])
    result = GoldenResult(
        core=core.name, machine=core.machine, n=k, passed=passed, mismatches=mismatches,
        instructions_per_inference=int(round(work * per_tick / f["repeats"])),
        flash_bytes=whole["flash_bytes"], ram_bytes=whole["ram_bytes"],
        model_flash_bytes=sum(s["flash_bytes"] for s in model_sizes),
        model_ram_bytes=sum(s["ram_bytes"] for s in model_sizes),
        model_stack_bytes=f["stack_bytes"], instructions_per_tick=per_tick,
        repeats=f["repeats"], log=log)
    if not profile or mismatches:
        return result
    # ten times the default timed work: each layer's +-1 tick per reading
    # then averages out to a few instructions per inference
    hooked = [*defines, f"SBN_LAYER_HOOK={LAYER_HOOK}"] + \
        ([] if any(d.startswith("SBN_TARGET_TICKS") for d in defines) else ["SBN_TARGET_TICKS=200000u"])
    _, _, passed, p, mismatches, log = _build_and_run(
        core, sources, include_dirs, build_dir / "profile", hooked, name, inputs, expected, timeout_s, True)
    if mismatches:
        raise ToolError(f"golden firmware on {core.name} ({core.machine}) fails {mismatches} vectors "
                        "only when built with the per-layer hook", details=log)
    per_tick = p["calib_instructions"] / p["calib_ticks"]
    hook = p["hook_ticks"] * per_tick / p["hook_calls"]
    result.layer_instructions = [int(round(t * per_tick / p["repeats"] - hook)) for t in p["layer_ticks"]]
    result.hook_instructions = round(hook, 2)
    result.word_loops = word_loops(core, model_sources, include_dirs, build_dir, defines)
    result.log += log
    return result
