"""Verification of an export folder against the numpy reference.

On the host, the whole test split runs through the generated C compiled with
gcc; in QEMU, golden vectors are compiled into a bare-metal firmware; over a
serial line, test images go to a board running ``sbn-mcu firmware``. Every
integer score must equal the reference's. Torch is not needed.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from . import codegen, data, reference, toolchain
from .errors import SbnError
from .export import find_model


def _test_split(model, data_dir: Path | None, limit: int | None):
    dataset = model.meta.get("dataset", "fashion-mnist")
    pixels, labels = data.load(dataset, "test", data_dir)
    if limit is not None:
        pixels, labels = pixels[:limit], labels[:limit]
    return pixels.reshape(len(pixels), -1), labels


def host_scores(out_dir: Path, name: str, pixels: np.ndarray, num_classes: int,
                extra_flags=(), timeout_s: float = 600) -> np.ndarray:
    """Scores of the generated C, compiled with the host gcc, for uint8 inputs (N, INPUT_SIZE)."""
    with tempfile.TemporaryDirectory(prefix="sbn-host-") as tmp:
        tmp = Path(tmp)
        driver = tmp / "host_main.c"
        driver.write_text(codegen.environment().get_template("host_main.c.j2")
                          .render(name=name, NAME=name.upper()))
        exe = toolchain.compile_host([*codegen.model_sources(out_dir, name, tmp), driver], tmp / "model",
                                     include_dirs=[Path(out_dir)], extra_flags=extra_flags)
        inputs = tmp / "inputs.bin"
        np.ascontiguousarray(pixels, dtype=np.uint8).tofile(inputs)
        try:
            run = subprocess.run([str(exe), str(inputs)], capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise SbnError(f"the host build of {name} did not finish within {timeout_s:g} s "
                           "(does NAME_infer hang?)") from None
        if run.returncode != 0:
            raise SbnError(f"the host build of {name} failed with exit code {run.returncode}: "
                           f"{run.stderr.decode(errors='replace').strip()[:200]}")
    scores = np.frombuffer(run.stdout, dtype=np.int32)
    if scores.size != len(pixels) * num_classes:
        raise SbnError(f"the host build of {name} wrote {scores.size} scores, expected "
                       f"{len(pixels) * num_classes}")
    return scores.reshape(len(pixels), num_classes)


def _reference_scores(model, pixels: np.ndarray, progress: bool) -> np.ndarray:
    """The reference's scores, batch by batch behind a progress bar when asked."""
    with reference.batches(len(pixels), f"reference scores for {len(pixels):,} inputs", progress) as starts:
        return np.concatenate([reference.run(model, pixels[i:i + 500]) for i in starts])


def verify_host(out_dir: Path, data_dir: Path | None = None, limit: int | None = None,
                timeout_s: float = 600, progress: bool = False) -> dict:
    name, model = find_model(out_dir)
    pixels, labels = _test_split(model, data_dir, limit)
    expected = _reference_scores(model, pixels, progress)
    got = host_scores(out_dir, name, pixels, model.num_classes, timeout_s=timeout_s)
    bad = np.flatnonzero((got != expected).any(axis=1))
    return {"target": "host", "n": len(pixels), "mismatches": int(bad.size),
            "first_mismatches": bad[:10].tolist(),
            "accuracy": float((reference.predict(got) == labels).mean()),
            "reference_accuracy": float((reference.predict(expected) == labels).mean())}


def _golden(out_dir: Path, name: str, core: str, pixels: np.ndarray, labels: np.ndarray,
            expected: np.ndarray, timeout_s: float, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="sbn-qemu-") as tmp:
        result = toolchain.run_golden(core, codegen.model_sources(out_dir, name, tmp), [Path(out_dir)], name,
                                      pixels, expected, Path(tmp), timeout_s=timeout_s, profile=profile)
    profiled = {"layer_instructions": result.layer_instructions, "word_loops": result.word_loops} if profile else {}
    return {**profiled, "target": f"qemu:{result.core}", "machine": result.machine, "n": result.n,
            "mismatches": result.mismatches, "passed": result.passed,
            "accuracy": float((reference.predict(expected) == labels).mean()),
            "instructions_per_inference": result.instructions_per_inference,
            "flash_bytes": result.flash_bytes, "ram_bytes": result.ram_bytes,
            "model_flash_bytes": result.model_flash_bytes, "model_ram_bytes": result.model_ram_bytes,
            "model_stack_bytes": result.model_stack_bytes}


def _golden_vectors(out_dir: Path, vectors: int, data_dir: Path | None):
    """Name, model, and the first ``vectors`` test images with their labels and reference scores."""
    name, model = find_model(out_dir)
    if vectors < 1:
        raise SbnError("--vectors must be at least 1")
    pixels, labels = _test_split(model, data_dir, vectors)
    return name, model, pixels, labels, reference.run(model, pixels)


def verify_qemu(out_dir: Path, core: str = "cortex-m4", vectors: int = 20,
                data_dir: Path | None = None, timeout_s: float = 300) -> dict:
    name, _, pixels, labels, expected = _golden_vectors(out_dir, vectors, data_dir)
    return _golden(out_dir, name, core, pixels, labels, expected, timeout_s)


# Each kernel's loop over weight words, as marked in templates/kernels.
_WORD_LOOPS = {"dense_u8.c": "xor_bytesum", "dense_bits.c": "mismatches", "conv_bits.c": "mismatches"}


def bench(out_dir: Path, cores, vectors: int = 10, data_dir: Path | None = None,
          timeout_s: float = 600) -> list[dict]:
    """Golden vectors and instruction counts on each core, in total and per layer;
    a model that does not fit a core's machine is reported as such instead of
    failing the others.

    Per layer, ``instructions`` come from a second build that times each
    layer (see ``toolchain.run_golden``); ``loads_per_word`` is the load
    instructions per 32-bit word read in the innermost loop of the kernel's
    loop over weight words, from the compiled code (``toolchain.word_loops``),
    or None where the compiled code has no such loop: the first convolution's
    few words per position, and rows of fewer than three words, are unrolled.
    """
    name, model, pixels, labels, expected = _golden_vectors(out_dir, vectors, data_dir)
    steps = codegen.plan(model).steps
    macs = sum(s.macs for s in steps)
    rows = []
    for core in cores:
        try:
            result = _golden(out_dir, name, core, pixels, labels, expected, timeout_s, profile=True)
        except toolchain.ToolError as err:
            if "does not fit" not in str(err):
                raise
            rows.append({"core": core, "fits": False, "error": str(err)})
            continue
        if result["mismatches"]:
            raise SbnError(f"{result['mismatches']} of {result['n']} golden vectors fail on {core}: the C "
                           "disagrees with the reference (run `sbn-mcu verify --qemu` for the scores)")
        rows.append({"core": core, "fits": True, "machine": result["machine"], "vectors": result["n"],
                     "mismatches": 0, "instructions_per_inference": result["instructions_per_inference"],
                     "instructions_per_mac": round(result["instructions_per_inference"] / macs, 4),
                     "model_flash_bytes": result["model_flash_bytes"],
                     "model_ram_bytes": result["model_ram_bytes"],
                     "stack_bytes": result["model_stack_bytes"],
                     "firmware_flash_bytes": result["flash_bytes"], "firmware_ram_bytes": result["ram_bytes"],
                     "layers": _layers(steps, result["layer_instructions"], result["word_loops"]),
                     "word_loops": result["word_loops"]})
    return rows


def _layers(steps, instructions: list[int], loops: dict[str, dict]) -> list[dict]:
    if len(instructions) != len(steps):
        raise SbnError(f"the per-layer timing saw {len(instructions)} layers, the model has {len(steps)}")
    rows = []
    for step, count in zip(steps, instructions):
        loop = loops.get(_WORD_LOOPS.get(step.kernel, ""))
        rows.append({"layer": step.index, "title": step.title, "kernel": step.kernel.removesuffix(".c"),
                     "macs": step.macs, "instructions": count,
                     "instructions_per_mac": round(count / step.macs, 4) if step.macs else None,
                     "loads_per_word": loop["loads_per_word"] if loop else None})
    return rows


def verify_serial(out_dir: Path, port: str, vectors: int = 100, data_dir: Path | None = None,
                  baud: int = 115200, timeout_s: float = 5.0, progress: bool = False) -> dict:
    """Send test images to a board running ``sbn-mcu firmware`` over a serial
    line and compare every score with the reference. The board must run the
    model of ``out_dir``: its INFO reply says which one."""
    from . import firmware, protocol

    name, model, pixels, labels, expected = _golden_vectors(out_dir, vectors, data_dir)
    wanted = firmware.model_id(firmware.model_files(out_dir, name))
    with protocol.Link(port, baud, timeout_s) as link:
        info = link.info()
        if info.model_id != wanted or (info.input_size, info.num_classes) != (model.input_size, model.num_classes):
            raise SbnError(f"the board on {port} ({info.board}) runs another model (id {info.model_id:#010x}, "
                           f"{info.input_size} inputs, {info.num_classes} classes) than {out_dir} "
                           f"(id {wanted:#010x}); write its firmware from this export and flash it again")
        got = np.empty_like(expected)
        predicted, cycles = np.empty(len(pixels), dtype=np.int64), np.empty(len(pixels), dtype=np.int64)
        started = time.perf_counter()
        with reference.batches(len(pixels), f"{len(pixels)} inferences on {info.board}", progress, 1) as starts:
            for i in starts:
                result = link.infer(pixels[i].tobytes(), model.num_classes)
                got[i], predicted[i], cycles[i] = result.scores, result.predicted, result.cycles
        seconds = time.perf_counter() - started
    bad = np.flatnonzero((got != expected).any(axis=1) | (predicted != reference.predict(expected)))
    return {"target": f"serial:{port}", "board": info.board, "n": len(pixels), "mismatches": int(bad.size),
            "first_mismatches": bad[:10].tolist(),
            "differences": [{"vector": int(i), "scores": got[i].tolist(), "expected": expected[i].tolist(),
                             "class": int(predicted[i])} for i in bad[:10]],
            "accuracy": float((reference.predict(expected) == labels).mean()),
            "inferences_per_second": round(len(pixels) / seconds, 2),
            "cycles_per_inference": int(np.median(cycles)), "cycle_counter": info.counter,
            "clock_hz": info.clock_hz}
