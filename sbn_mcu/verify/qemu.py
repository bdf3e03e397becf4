"""Golden vectors of an export folder on one emulated core."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..codegen import ExportFolder
from ..ir import reference
from .data import golden_vectors
from .golden import run_golden


def verify_qemu(out_dir: Path, core: str = "cortex-m4", vectors: int = 20,
                data_path: Path | None = None, timeout_s: float = 300) -> dict:
    folder = ExportFolder.open(out_dir)
    pixels, labels, expected = golden_vectors(folder.model, vectors, data_path)
    with tempfile.TemporaryDirectory(prefix="sbn-qemu-") as tmp:
        result = run_golden(core, folder.sources(Path(tmp)), [folder.path], folder.name, pixels, expected,
                            Path(tmp), timeout_s=timeout_s)
    return {"target": f"qemu:{result.core}", "machine": result.machine, "n": result.n,
            "mismatches": result.mismatches, "passed": result.passed,
            "accuracy": float((reference.predict(expected) == labels).mean()),
            "instructions_per_inference": result.instructions_per_inference,
            "flash_bytes": result.flash_bytes, "ram_bytes": result.ram_bytes,
            "model_flash_bytes": result.model_flash_bytes, "model_ram_bytes": result.model_ram_bytes,
            "model_stack_bytes": result.model_stack_bytes}
