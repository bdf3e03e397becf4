"""The export folder: what ``sbn-mcu export`` writes and every later command reads.

It holds ``NAME.h`` (and ``NAME.c`` unless it is a single header), with the
``shared`` runtime ``sbn_runtime.c`` / ``sbn_runtime.h``, the frozen model
``NAME.sbn.npz``, ``summary.json``, the build fragments, and a manifest that
records the name, the single-header flag, the runtime and every file export wrote.
Export replaces only those files: anything else in the folder is the user's,
and export refuses to touch a folder that holds it.

A folder holds one export. Exporting another name into it replaces the
earlier export, whose files its manifest lists, rather than refusing: the
manifest says exactly what is ours to remove. Two models in one program are
two export folders: with the pasted runtime each ``NAME.c`` keeps its kernels
static, and with the shared one both folders' ``sbn_runtime.c`` are the same
file, linked once. :func:`check_replaceable` decides it
before any work, and :meth:`ExportFolder.write` applies the same rule.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import SbnError
from ..files import write_folder
from ..ir.model import SUFFIX, FrozenModel
from .. import runtime
from .plan import plan
from .render import build_fragments, model_sources
from .summary import summarise

MANIFEST = "sbn-export.json"
FORMAT = "sbn-mcu-export"


@dataclass(frozen=True)
class ExportFolder:
    path: Path
    name: str
    single_header: bool
    files: tuple[str, ...]  # every file export wrote, the manifest included
    runtime: str = "pasted"  # runtime.MODES: the kernels in NAME.c, or in a shared sbn_runtime.c

    @classmethod
    def open(cls, path: Path) -> "ExportFolder":
        """An existing export folder, checked to hold its C files."""
        path = Path(path)
        manifest = _read_manifest(path)
        if manifest is None:
            raise SbnError(f"{path} is not an export folder (no {MANIFEST}); "
                           "run `sbn-mcu export MODEL.pt --out DIR` first")
        folder = cls(path, manifest["name"], manifest["single_header"], tuple(manifest["files"]),
                     manifest.get("runtime", "pasted"))
        for source in folder.c_files:
            if not (path / source).is_file():
                raise SbnError(f"{path / source} is missing; export again")
        return folder

    @classmethod
    def create(cls, path: Path, model: FrozenModel, name: str, single_header: bool = False,
               runtime_files: str = "pasted") -> "ExportFolder":
        """Render ``model`` and write the whole export into ``path``; ``runtime_files`` is one of
        :data:`~sbn_mcu.runtime.MODES`. Callers hold :func:`~sbn_mcu.files.folder_lock` around it."""
        the_plan = plan(model)
        report = summarise(the_plan)
        report["name"] = name
        files: dict[str, str | bytes] = {**model_sources(model, name, single_header, the_plan, runtime_files),
                                         **build_fragments(name, single_header, runtime_files),
                                         "summary.json": json.dumps(report, indent=2) + "\n",
                                         name + SUFFIX: model.to_bytes()}
        return cls.write(path, name, files, single_header, runtime_files)

    @staticmethod
    def write(path: Path, name: str, files: dict[str, str | bytes], single_header: bool,
              runtime_files: str = "pasted") -> "ExportFolder":
        """Write ``files`` and the manifest into ``path`` at once, replacing an earlier
        export. Callers hold :func:`~sbn_mcu.files.folder_lock` around it."""
        names = sorted([*files, MANIFEST])
        manifest = {"format": FORMAT, "name": name, "single_header": single_header, "runtime": runtime_files,
                    "files": names}
        check_replaceable(path)
        earlier = _read_manifest(path) if Path(path).is_dir() else None  # an earlier export, of any name, goes
        replaceable = sorted({*names, *(earlier["files"] if earlier else ())})
        write_folder(path, {**files, MANIFEST: json.dumps(manifest, indent=2) + "\n"}, replaceable)
        return ExportFolder(Path(path), name, single_header, tuple(names), runtime_files)

    @property
    def header(self) -> Path:
        return self.path / f"{self.name}.h"

    @property
    def c_files(self) -> list[str]:
        """The model's C files: ``NAME.h``, ``NAME.c`` unless it is a single header, and
        ``sbn_runtime.h`` / ``sbn_runtime.c`` with the shared runtime."""
        files = [f"{self.name}.h"] + ([] if self.single_header else [f"{self.name}.c"])
        return files + ([f"{runtime.LIBRARY}.h", f"{runtime.LIBRARY}.c"] if self.runtime == "shared" else [])

    @property
    def summary(self) -> dict:
        """``summary.json``: flash, RAM and MACs per layer."""
        return json.loads((self.path / "summary.json").read_text())

    @cached_property
    def model(self) -> FrozenModel:
        return FrozenModel.load(self.path / f"{self.name}{SUFFIX}")

    def c_texts(self) -> dict[str, str]:
        """The model's C files by name."""
        return {f: (self.path / f).read_text() for f in self.c_files}

    def model_id(self) -> int:
        """CRC-32 of the model's C files, which the board firmware reports so that
        the host can tell whether a board runs the model it checks against."""
        crc = 0
        for fname, text in sorted(self.c_texts().items()):
            crc = zlib.crc32(f"{fname}\0{text}\0".encode(), crc)
        return crc

    def build_texts(self) -> dict[str, str]:
        """What a build of the model needs, by name: its C files and, for a single header, the
        one-line ``NAME_impl.c`` that compiles its implementation (the one place it is written)."""
        texts = self.c_texts()
        if self.single_header:
            texts[self.stub] = f'#define {self.name.upper()}_IMPLEMENTATION\n#include "{self.name}.h"\n'
        return texts

    @property
    def stub(self) -> str:
        return f"{self.name}_impl.c"

    def sources(self, scratch_dir: Path) -> list[Path]:
        """The C files that build the model: ``NAME.c``, or for a single header its
        ``NAME_impl.c``, written into ``scratch_dir``; then ``sbn_runtime.c`` with the shared runtime."""
        shared = [self.path / f"{runtime.LIBRARY}.c"] if self.runtime == "shared" else []
        if not self.single_header:
            return [self.path / f"{self.name}.c", *shared]
        stub = Path(scratch_dir) / self.stub
        stub.write_text(self.build_texts()[self.stub])
        return [stub, *shared]


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    return manifest


def check_replaceable(path: Path) -> None:
    """Refuse a folder that holds anything an earlier export did not write."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SbnError(f"output path {path} is an existing file, not a folder; choose another --out")
    if not path.is_dir() or not any(path.iterdir()):
        return
    manifest = _read_manifest(path)
    ours = set(manifest["files"]) if manifest else set()
    foreign = sorted(p.name for p in path.iterdir() if p.name not in ours)
    if foreign:
        raise SbnError(f"output folder {path} holds files that sbn-mcu export did not write "
                       f"({', '.join(foreign[:3])}); choose an empty folder or an earlier export folder")
