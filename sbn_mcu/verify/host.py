"""The generated C on the host: one program, ``templates/host_main.c.j2`` around ``NAME_infer``,
compiled with the host gcc. Every host run goes through it: ``verify --host`` on the test split,
``sbn_mcu.host`` from Python (which caches the program), the tests and the fuzzer (with
sanitizer flags, which a program takes and a library loaded into Python would not)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from ..codegen import ExportFolder
from ..codegen.environment import render
from ..errors import SbnError
from ..ir import reference
from ..progress import batches
from ..toolchain import compile_host
from .data import test_split


def driver_source(name: str) -> str:
    """The program's ``main``: reads N inputs from a file, writes each input's scores and class."""
    return render("templates/host_main.c.j2", name=name, NAME=name.upper())


def build_program(name: str, sources: Iterable[Path], include_dirs: Iterable[Path], out_exe: Path,
                  extra_flags=()) -> Path:
    """Compile the model's C ``sources`` with the driver into the program ``out_exe``."""
    driver = Path(out_exe).parent / "host_main.c"
    driver.write_text(driver_source(name))
    return compile_host([*sources, driver], out_exe, include_dirs=include_dirs, extra_flags=extra_flags)


def run_program(exe: Path, name: str, inputs: np.ndarray, num_classes: int,
                timeout_s: float = 600) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, classes)`` of ``NAME_infer`` for raw inputs (N, INPUT_SIZE) of the model's type:
    int32 (N, NUM_CLASSES) and the int64 (N,) class it returned."""
    with tempfile.TemporaryDirectory(prefix="sbn-host-") as tmp:
        path = Path(tmp) / "inputs.bin"
        np.ascontiguousarray(inputs).tofile(path)  # the model's input type, native byte order
        try:
            run = subprocess.run([str(exe), str(path)], capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise SbnError(f"the host build of {name} did not finish within {timeout_s:g} s "
                           "(does NAME_infer hang?)") from None
    if run.returncode != 0:
        raise SbnError(f"the host build of {name} failed with exit code {run.returncode}: "
                       f"{run.stderr.decode(errors='replace').strip()[:200]}")
    words = np.frombuffer(run.stdout, dtype=np.int32)
    if words.size != len(inputs) * (num_classes + 1):
        raise SbnError(f"the host build of {name} wrote {words.size} values, expected "
                       f"{len(inputs) * (num_classes + 1)}")
    rows = words.reshape(len(inputs), num_classes + 1)
    return rows[:, :num_classes].copy(), rows[:, num_classes].astype(np.int64)


def host_run(out_dir: Path, name: str, pixels: np.ndarray, num_classes: int, extra_flags=(),
             timeout_s: float = 600, sources: list[Path] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`run_program` on a program built now from ``sources`` (:meth:`ExportFolder.sources`;
    by default ``NAME.c`` in ``out_dir``), with ``out_dir`` on the include path."""
    with tempfile.TemporaryDirectory(prefix="sbn-host-") as tmp:
        exe = build_program(name, sources or [Path(out_dir) / f"{name}.c"], [Path(out_dir)], Path(tmp) / "model",
                            extra_flags)
        return run_program(exe, name, pixels, num_classes, timeout_s)


def host_scores(out_dir: Path, name: str, pixels: np.ndarray, num_classes: int, extra_flags=(),
                timeout_s: float = 600, sources: list[Path] | None = None) -> np.ndarray:
    """The scores of :func:`host_run`."""
    return host_run(out_dir, name, pixels, num_classes, extra_flags, timeout_s, sources)[0]


def _reference_scores(model, pixels: np.ndarray, progress: bool) -> np.ndarray:
    """The reference's scores, batch by batch behind a progress bar when asked."""
    with batches(len(pixels), f"reference scores for {len(pixels):,} inputs", progress) as starts:
        return np.concatenate([reference.run(model, pixels[i:i + 500]) for i in starts])


def verify_host(out_dir: Path, data_path: Path | None = None, limit: int | None = None,
                timeout_s: float = 600, progress: bool = False) -> dict:
    folder = ExportFolder.open(out_dir)
    model = folder.model
    pixels, labels = test_split(model, data_path, limit)
    expected = _reference_scores(model, pixels, progress)
    with tempfile.TemporaryDirectory(prefix="sbn-stub-") as tmp:
        got, predicted = host_run(out_dir, folder.name, pixels, model.num_classes, timeout_s=timeout_s,
                                  sources=folder.sources(Path(tmp)))
    # an input is wrong if its scores differ, or if NAME_infer returned another class than its scores give
    bad = np.flatnonzero((got != expected).any(axis=1) | (predicted != reference.predict(got)))
    confusion = confusion_matrix(labels, predicted, model.num_classes)
    return {"target": "host", "n": len(pixels), "mismatches": int(bad.size),
            "first_mismatches": bad[:10].tolist(),
            "accuracy": float((predicted == labels).mean()),
            "reference_accuracy": float((reference.predict(expected) == labels).mean()),
            "per_class": per_class(confusion, [model.class_name(c) for c in range(model.num_classes)]),
            "confusion": confusion.tolist(),
            # for the text report only: the CLI leaves it out of --json
            "mismatch_scores": [{"index": int(i), "expected": expected[i].tolist(), "got": got[i].tolist()}
                                for i in bad[:5]]}


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (true label, class the C predicted).

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def per_class(confusion: np.ndarray, class_names=None) -> list[dict]:
    """Each true class's count and accuracy (None for a class absent from the inputs)."""
    rows = []
    for c, row in enumerate(confusion):
        n = int(row.sum())
        name = class_names[c] if class_names and c < len(class_names) else str(c)
        rows.append({"class": c, "name": name, "n": n,
                     "accuracy": float(row[c] / n) if n else None})
    return rows
