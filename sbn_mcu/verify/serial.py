"""Golden vectors over a serial line, to a board running ``sbn-mcu firmware``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..codegen import ExportFolder
from ..errors import SbnError
from ..ir import reference
from ..progress import batches
from . import protocol
from .data import golden_vectors


def verify_serial(out_dir: Path, port: str, vectors: int = 100, data_path: Path | None = None,
                  baud: int = 115200, timeout_s: float = 5.0, progress: bool = False) -> dict:
    """Send test images to a board running ``sbn-mcu firmware`` over a serial
    line and compare every score with the reference. The board must run the
    model of ``out_dir``: its INFO reply says which one."""
    folder = ExportFolder.open(out_dir)
    model = folder.model
    pixels, labels, expected = golden_vectors(model, vectors, data_path)
    wanted = folder.model_id()
    with protocol.Link(port, baud, timeout_s) as link:
        info = link.info()
        if info.model_id != wanted or (info.input_size, info.num_classes) != (model.input_size, model.num_classes):
            raise SbnError(f"the board on {port} ({info.board}) runs another model (id {info.model_id:#010x}, "
                           f"{info.input_size} inputs, {info.num_classes} classes) than {out_dir} "
                           f"(id {wanted:#010x}); write its firmware from this export and flash it again")
        got = np.empty_like(expected)
        predicted, cycles = np.empty(len(pixels), dtype=np.int64), np.empty(len(pixels), dtype=np.int64)
        started = time.perf_counter()
        with batches(len(pixels), f"{len(pixels)} inferences on {info.board}", progress, 1) as starts:
            for i in starts:
                result = link.infer(model.spec.wire_bytes(pixels[i]), model.num_classes)
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
