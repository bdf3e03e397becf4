"""The generated C, callable from Python: the export's host program (``verify.host``), cached.

Example::

    import numpy as np
    from sbn_mcu import host

    model = host.load("build/mlp")              # compiles on first use, then cached
    x = np.zeros((4, model.input_size), model.dtype)
    model.scores(x)                              # int32 (4, NUM_CLASSES), from NAME_infer
    model.predict(x)                             # int64 (4,), the class NAME_infer returned

Inputs are raw values of the model's type (``model.dtype``: its input spec's)
of shape ``(N, INPUT_SIZE)`` or ``(N, *stored_shape)``, in the C's order. The
program is the one ``verify --host`` runs, built with the host gcc and the same
strict flags, in a cache keyed by the content of the C files: ``$SBN_MCU_CACHE``,
else ``$XDG_CACHE_HOME/sbn-mcu``, else ``~/.cache/sbn-mcu``. Re-exporting
changes the C and so the key; an unchanged export is never compiled twice.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .codegen import ExportFolder
from .errors import SbnError
from .data import as_batch
from .toolchain.gcc import HOST_CFLAGS
from .verify.host import build_program, driver_source, run_program


def cache_dir() -> Path:
    """Where the compiled libraries live."""
    if os.environ.get("SBN_MCU_CACHE"):
        return Path(os.environ["SBN_MCU_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sbn-mcu"


def _key(name: str, texts: dict[str, str]) -> str:
    digest = hashlib.sha256(" ".join(HOST_CFLAGS).encode())
    for fname, text in sorted({**texts, "host_main.c": driver_source(name)}.items()):
        digest.update(f"\0{fname}\0{text}".encode())
    return f"{name}-{digest.hexdigest()[:20]}"


class HostModel:
    """One export's ``NAME_infer``, run by its host program. Build with :func:`load`."""

    def __init__(self, folder: ExportFolder):
        self.folder = folder
        self.name = folder.name
        model = folder.model
        self.model = model
        self.input_size = model.input_size
        self.input_shape = tuple(model.input_shape)
        self.spec = model.spec
        self.dtype = model.spec.numpy_dtype
        self.num_classes = model.num_classes
        self.class_names = [model.class_name(c) for c in range(model.num_classes)]

    def program(self) -> Path:
        """The host program, compiled into the cache unless it is there already."""
        texts = self.folder.build_texts()
        exe = cache_dir() / _key(self.name, texts) / self.name
        if exe.is_file():
            return exe
        try:
            exe.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SbnError(f"cannot create the cache {exe.parent}: {err.strerror}; set SBN_MCU_CACHE") from None
        with tempfile.TemporaryDirectory(prefix="sbn-build-", dir=exe.parent) as tmp:
            tmp = Path(tmp)
            # The C as it is now, copied, so that the key matches what was compiled.
            for fname, text in texts.items():
                (tmp / fname).write_text(text)
            sources = [tmp / fname for fname in texts if fname.endswith(".c")]
            built = build_program(self.name, sources, [tmp], tmp / exe.name)
            os.replace(built, exe)  # atomic: a concurrent caller sees no half-written program
        return exe

    def infer(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(scores, classes) of :meth:`scores` and :meth:`predict` in one run."""
        return run_program(self.program(), self.name, as_batch(x, self.spec), self.num_classes)

    def scores(self, x) -> np.ndarray:
        """int32 (N, NUM_CLASSES): the scores ``NAME_infer`` writes."""
        return self.infer(x)[0]

    def predict(self, x) -> np.ndarray:
        """int64 (N,): the class ``NAME_infer`` returns (argmax, ties to the lowest index)."""
        return self.infer(x)[1]


def load(out_dir) -> HostModel:
    """The export in ``out_dir`` as a :class:`HostModel`; gcc runs only on first use."""
    return HostModel(ExportFolder.open(Path(out_dir)))
