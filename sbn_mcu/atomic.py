"""Write output folders all at once, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import SbnError


def write_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """Put ``files`` into ``out_dir``, replacing what the folder held.

    Everything is written into a temporary folder beside ``out_dir`` and then
    renamed into place, so a failure leaves the earlier folder as it was.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SbnError(f"output path {out_dir} is an existing file, not a folder; choose another --out")
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as err:
        raise SbnError(f"cannot write to {parent}: {err.strerror}; choose a writable --out") from None
    try:
        for name, content in files.items():
            path = staging / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        os.chmod(staging, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            os.replace(out_dir, old / "previous")
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise SbnError(f"cannot write {out_dir}: {err.strerror}") from None
