"""Golden vectors on an emulated core: the reference's scores compiled into a
bare-metal harness (``firmware/harness``), checked and counted in QEMU.

This is the verification path; :mod:`sbn_mcu.bench.profile` builds on it to
time each layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

import numpy as np

from ..codegen.environment import render
from ..codegen.names import check_name
from ..errors import SbnError
from ..ir import reference
from ..ir.input_spec import TYPES
from ..targets.cores import Core, resolve_core
from ..toolchain.cross import build_objects, size
from ..toolchain.qemu import run_status
from ..toolchain.tools import PathLike, ToolError, firmware_dir


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

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def golden_header(name: str, header: str, inputs: np.ndarray, expected: np.ndarray) -> str:
    """The golden vectors as a C header for the QEMU harness."""
    classes = reference.predict(expected).tolist()
    return render(
        "firmware/harness/golden.h.j2", prefix="sbn", name=name, NAME=name.upper(), header=header,
        count=inputs.shape[0], input_size=inputs.shape[1], num_classes=expected.shape[1],
        inputs=inputs.tolist(), scores=expected.tolist(), classes=classes, class_names=list(map(str, classes)))


def check_golden_arrays(inputs: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inputs = np.asarray(inputs)
    expected = np.asarray(expected)
    if inputs.ndim != 2 or expected.ndim != 2 or inputs.shape[0] != expected.shape[0] \
            or inputs.shape[0] == 0:
        raise SbnError(f"golden vectors need inputs (K, INPUT_SIZE) and expected "
                       f"(K, NUM_CLASSES) with the same K >= 1; got {inputs.shape} "
                       f"and {expected.shape}")
    if inputs.dtype.name not in TYPES:
        raise SbnError(f"golden inputs must be {', '.join(TYPES)} values, the model's input type; "
                       f"got dtype {inputs.dtype}")
    if not np.issubdtype(expected.dtype, np.integer) \
            or expected.min() < -2**31 or expected.max() >= 2**31:
        raise SbnError(f"expected scores must be int32 values; got dtype {expected.dtype}")
    return inputs, expected.astype(np.int64)


# The function the golden harness defines for the model's per-layer hook.
LAYER_HOOK = "sbn_golden_layer_done"

_FIELDS = ("calib_instructions", "calib_ticks", "overhead_ticks", "work_ticks",
           "repeats", "stack_bytes")
_PROFILE_FIELDS = ("hook_calls", "hook_ticks", "layers")


def parse_golden(log: str, k: int, core: Core,
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


def build_and_run(core: Core, sources: list[Path], include_dirs: list[Path], build_dir: Path,
                   defines: list[str], name: str, inputs: np.ndarray, expected: np.ndarray,
                   timeout_s: float, profiled: bool = False):
    """Build the golden firmware, run it and parse its report: (elf, objects, passed, fields, mismatches, log)."""
    try:
        elf, objects = build_objects(core, sources, include_dirs, build_dir, defines)
    except ToolError as err:
        for what, got in (("input_size_matches", f"{inputs.shape[1]} inputs"),
                          ("classes_match", f"{expected.shape[1]} expected scores")):
            if f"sbn_golden_{what}_" in str(err):
                macro = "INPUT_SIZE" if what == "input_size_matches" else "NUM_CLASSES"
                raise ToolError(f"the golden vectors have {got} each, which is not "
                                f"{name.upper()}_{macro} in {name}.h", details=err.details) \
                    from None
        over = re.search(r"region `FLASH' overflowed by (\d+) bytes", err.details or "")
        if over:  # the vectors live in flash: say how many fit instead of only "does not fit"
            k, per_vector = inputs.shape[0], inputs[0].nbytes + 4 * expected.shape[1]
            fit = max(0, k - -(-int(over.group(1)) // per_vector))
            hint = f"use --vectors {fit} or fewer" if fit else "the model alone fills it; choose a larger core"
            raise ToolError(f"{str(err).split(':')[0]}: {k} golden vectors of {per_vector} B each need "
                            f"{over.group(1)} B more than its {core.flash_bytes:,} B; {hint}",
                            details=err.details) from None
        raise
    status, log = run_status(elf, core, timeout_s)
    passed, f, mismatches = parse_golden(log, inputs.shape[0], core, profiled)
    where = f"{core.name} ({core.machine})"
    if mismatches != passed.count(False) or (status == 0) != (mismatches == 0):
        raise ToolError(f"golden firmware on {where} contradicts itself: {mismatches} "
                        f"mismatches reported, {passed.count(False)} failing vectors, "
                        f"exit status {status}", details=log)
    if f["calib_ticks"] <= 0 or f["repeats"] <= 0:
        raise ToolError(f"golden firmware on {where}: SysTick did not count", details=log)
    return elf, objects, passed, f, mismatches, log


def harness(name: str, inputs: np.ndarray, expected: np.ndarray, model_sources: list[Path],
            include_dirs: Iterable[PathLike], build_dir: Path) -> tuple[list[Path], list[Path]]:
    """The harness's sources and include folders, with ``golden.h`` written into ``build_dir``."""
    golden_dir = build_dir / "golden"
    golden_dir.mkdir(parents=True, exist_ok=True)
    (golden_dir / "golden.h").write_text(golden_header(name, f"{name}.h", inputs, expected))
    sources = [*model_sources, firmware_dir() / "harness" / "golden_main.c"]
    return sources, [golden_dir, *(Path(d) for d in include_dirs)]


def run_golden(core: Union[str, Core], model_sources: Iterable[PathLike],
               include_dirs: Iterable[PathLike], name: str, inputs: np.ndarray,
               expected: np.ndarray, build_dir: PathLike, timeout_s: float = 120,
               defines: Iterable[str] = ()) -> GoldenResult:
    """Check a generated model against golden vectors on an emulated core.

    ``name`` is the model's prefix: the harness includes ``<name>.h`` and
    calls ``<name>_infer`` with ``<NAME>_INPUT_SIZE`` and ``<NAME>_NUM_CLASSES``.
    ``inputs`` is (K, INPUT_SIZE) of the model's input type, ``expected`` (K, NUM_CLASSES) int32;
    the returned class must be the first index of the highest expected score.

    Mismatches do not raise: they are in ``passed``/``mismatches`` and the
    log names every differing score. Build errors, a crash, a hang past
    ``timeout_s`` or an incomplete report raise SbnError.

    ``defines`` go to every compiled file: e.g. ``SBN_REPEAT=100`` fixes the
    number of timed inferences (by default the harness picks whole passes
    over the vectors lasting >= ``SBN_TARGET_TICKS``, 20000 SysTick ticks).
    One ``build_dir`` can serve several cores.
    """
    core = resolve_core(core)
    check_name(name)
    inputs, expected = check_golden_arrays(inputs, expected)
    k = inputs.shape[0]
    model_sources = [Path(s) for s in model_sources]
    sources, include_dirs = harness(name, inputs, expected, model_sources, include_dirs, Path(build_dir))
    defines = list(defines)
    elf, objects, passed, f, mismatches, log = build_and_run(
        core, sources, include_dirs, build_dir, defines, name, inputs, expected, timeout_s)
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
    return result
