"""The generated C, callable from Python: the export compiled into a shared library.

Example::

    import numpy as np
    from sbn_mcu import host

    model = host.load("build/mlp")              # compiles on first use, then cached
    x = np.zeros((4, model.input_size), model.dtype)
    model.scores(x)                              # int32 (4, NUM_CLASSES), from NAME_infer
    model.predict(x)                             # int64 (4,), the class NAME_infer returned

Inputs are raw values of the model's type (``model.dtype``: its input spec's)
of shape ``(N, INPUT_SIZE)`` or ``(N, *stored_shape)``, in the C's order. The
library is built with the host gcc and the same strict flags as ``verify
--host``, in a cache keyed by the content of the C files: ``$SBN_MCU_CACHE``,
else ``$XDG_CACHE_HOME/sbn-mcu``, else ``~/.cache/sbn-mcu``. Re-exporting
changes the C and so the key; an unchanged export is never compiled twice.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .codegen import ExportFolder
from .errors import SbnError
from .data import as_batch
from .toolchain.gcc import HOST_CFLAGS, compile_host

SHARED_FLAGS = ("-shared", "-fPIC")


def cache_dir() -> Path:
    """Where the compiled libraries live."""
    if os.environ.get("SBN_MCU_CACHE"):
        return Path(os.environ["SBN_MCU_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sbn-mcu"


def _key(name: str, texts: dict[str, str]) -> str:
    digest = hashlib.sha256(" ".join((*HOST_CFLAGS, *SHARED_FLAGS)).encode())
    for fname, text in sorted(texts.items()):
        digest.update(f"\0{fname}\0{text}".encode())
    return f"{name}-{digest.hexdigest()[:20]}"


class HostModel:
    """One export's ``NAME_infer`` behind ctypes. Build with :func:`load`."""

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
        self._infer = None

    def library(self) -> Path:
        """The shared library, compiled into the cache unless it is there already."""
        texts = self.folder.build_texts()
        lib = cache_dir() / _key(self.name, texts) / f"lib{self.name}.so"
        if lib.is_file():
            return lib
        try:
            lib.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SbnError(f"cannot create the cache {lib.parent}: {err.strerror}; set SBN_MCU_CACHE") from None
        with tempfile.TemporaryDirectory(prefix="sbn-so-", dir=lib.parent) as tmp:
            tmp = Path(tmp)
            # The C as it is now, copied, so that the key matches what was compiled.
            for fname, text in texts.items():
                (tmp / fname).write_text(text)
            sources = [tmp / fname for fname in texts if fname.endswith(".c")]
            built = compile_host(sources, tmp / lib.name, include_dirs=[tmp], extra_flags=SHARED_FLAGS)
            os.replace(built, lib)  # atomic: a concurrent loader sees no half-written library
        return lib

    def _function(self):
        if self._infer is None:
            infer = getattr(ctypes.CDLL(str(self.library())), f"{self.name}_infer")
            infer.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32))
            infer.restype = ctypes.c_int32
            self._infer = infer
        return self._infer

    def infer(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(scores, classes) of :meth:`scores` and :meth:`predict` in one pass."""
        x = as_batch(x, self.spec)
        infer = self._function()
        scores = np.zeros((len(x), self.num_classes), np.int32)
        classes = np.zeros(len(x), np.int64)
        i32 = ctypes.POINTER(ctypes.c_int32)
        for i in range(len(x)):
            classes[i] = infer(x[i].ctypes.data, scores[i].ctypes.data_as(i32))
        return scores, classes

    def scores(self, x) -> np.ndarray:
        """int32 (N, NUM_CLASSES): the scores ``NAME_infer`` writes."""
        return self.infer(x)[0]

    def predict(self, x) -> np.ndarray:
        """int64 (N,): the class ``NAME_infer`` returns (argmax, ties to the lowest index)."""
        return self.infer(x)[1]


def load(out_dir) -> HostModel:
    """The export in ``out_dir`` as a :class:`HostModel`; gcc runs only on first use."""
    return HostModel(ExportFolder.open(Path(out_dir)))
