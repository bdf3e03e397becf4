"""Benchmarking on emulated cores: the golden run's totals and sizes, a
per-layer profile, and the loads per word of each kernel's loop."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..codegen import ExportFolder, plan
from ..errors import SbnError
from ..toolchain.tools import ToolError
from ..verify.data import golden_vectors
from ..verify.golden import run_golden
from .profile import profile_layers


def bench(out_dir: Path, cores, vectors: int = 10, data_path: Path | None = None,
          timeout_s: float = 600) -> list[dict]:
    """Golden vectors and instruction counts on each core, in total and per layer;
    a model that does not fit a core's machine is reported as such instead of
    failing the others.

    The total and the sizes come from the plain golden build; per layer,
    ``instructions`` come from a second build that times each layer
    (:func:`~sbn_mcu.bench.profile.profile_layers`); ``loads_per_word`` is the
    load instructions per 32-bit word read in the innermost loop of the
    kernel's loop over weight words, from the compiled code, or None where the
    compiled code has no such loop: the first convolution's few words per
    position, and rows of fewer than three words, are unrolled.
    """
    folder = ExportFolder.open(out_dir)
    model = folder.model
    pixels, _, expected = golden_vectors(model, vectors, data_path)
    steps = plan(model).steps
    macs = sum(s.macs for s in steps)
    rows = []
    for core in cores:
        with tempfile.TemporaryDirectory(prefix="sbn-bench-") as tmp:
            sources, includes = folder.sources(Path(tmp)), [folder.path]
            try:
                result = run_golden(core, sources, includes, folder.name, pixels, expected, Path(tmp),
                                    timeout_s=timeout_s)
            except ToolError as err:
                if "does not fit" not in str(err):
                    raise
                rows.append({"core": core, "fits": False, "error": str(err)})
                continue
            if result.mismatches:
                raise SbnError(f"{result.mismatches} of {result.n} golden vectors fail on {core}: the C "
                               "disagrees with the reference (run `sbn-mcu verify --qemu` for the scores)")
            profile = profile_layers(core, sources, includes, folder.name, pixels, expected, Path(tmp),
                                     timeout_s=timeout_s)
        rows.append({"core": core, "fits": True, "machine": result.machine, "vectors": result.n,
                     "mismatches": 0, "instructions_per_inference": result.instructions_per_inference,
                     "instructions_per_mac": round(result.instructions_per_inference / macs, 4),
                     "model_flash_bytes": result.model_flash_bytes, "model_ram_bytes": result.model_ram_bytes,
                     "stack_bytes": result.model_stack_bytes,
                     "firmware_flash_bytes": result.flash_bytes, "firmware_ram_bytes": result.ram_bytes,
                     "layers": _layers(steps, profile.layer_instructions, profile.word_loops),
                     "word_loops": profile.word_loops})
    return rows


def _layers(steps, instructions: list[int], loops: dict[str, dict]) -> list[dict]:
    if len(instructions) != len(steps):
        raise SbnError(f"the per-layer timing saw {len(instructions)} layers, the model has {len(steps)}")
    rows = []
    for step, count in zip(steps, instructions):
        loop = loops.get(step.word_loop or "")
        rows.append({"layer": step.index, "title": step.title, "kernel": step.kernel,
                     "macs": step.macs, "instructions": count,
                     "instructions_per_mac": round(count / step.macs, 4) if step.macs else None,
                     "loads_per_word": loop["loads_per_word"] if loop else None})
    return rows
