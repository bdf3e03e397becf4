"""The disassembly analysis: loads per word in each kernel's loop over weight words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Union

from ..targets.cores import Core, resolve_core
from ..toolchain.cross import TARGET_CFLAGS, object_names
from ..toolchain.tools import PathLike, firmware_dir, require, run_tool


# A comment "word loop: NAME" on the first line of a kernel's loop over weight
# words marks it (sbn_mcu/runtime/sbn_bits.h).
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
    for source, obj_name in zip(sources, object_names(sources)):
        obj = out_dir / obj_name
        run_tool([gcc, *flags, "-c", source, "-o", obj], f"arm-none-eabi-gcc ({core.name}) on {source.name}")
        instructions, loops = _disassembly(run_tool([objdump, "-d", "-l", "--no-show-raw-insn", obj],
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
