"""Write files and folders all at once, or not at all; never delete what is not ours. And find the
package's own folders of templates and firmware."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from fnmatch import fnmatch
from pathlib import Path

from .errors import SbnError

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates`` or ``firmware``: inside the wheel, else beside the package."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def check_writable(out_dir: Path, replaceable=("*",)) -> Path:
    """Refuse early what :func:`write_folder` would refuse; returns the parent folder."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SbnError(f"output path {out_dir} is an existing file, not a folder; choose another --out")
    if out_dir.is_dir():
        foreign = [p.name for p in out_dir.iterdir() if not any(fnmatch(p.name, pat) for pat in replaceable)]
        if foreign:
            raise SbnError(f"output folder {out_dir} holds other files ({', '.join(sorted(foreign)[:3])}); "
                           "choose an empty folder or an earlier output folder")
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SbnError(f"cannot create {parent}: {err.strerror}; choose a writable --out") from None
    if not os.access(parent, os.W_OK):
        raise SbnError(f"{parent} is not writable; choose a writable --out")
    return parent


def write_folder(out_dir: Path, files: dict[str, str | bytes], replaceable=("*",)) -> None:
    """Put ``files`` into ``out_dir``, replacing what the folder held.

    Everything is written into a temporary folder beside ``out_dir`` and then
    renamed into place, so a failure leaves the earlier folder as it was. An
    existing folder is replaced only if every entry in it matches one of the
    ``replaceable`` patterns: other files are never deleted.
    """
    out_dir = Path(out_dir)
    parent = check_writable(out_dir, replaceable)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as err:
        raise SbnError(f"cannot write to {parent}: {err.strerror}; choose a writable --out") from None
    old = None
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        os.chmod(staging, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            os.replace(out_dir, old / "previous")
            try:
                os.replace(staging, out_dir)
            except OSError:
                os.replace(old / "previous", out_dir)  # put the earlier folder back
                raise
        else:
            os.replace(staging, out_dir)
    except OSError as err:
        raise SbnError(f"cannot write {out_dir}: {err.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_atomically(path: Path, write) -> None:
    """``write(tmp)`` beside ``path``, then rename: a crash never leaves half a file.

    A failed write (a full disk, say) removes the temporary file and leaves
    the earlier ``path`` as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_between_marks(path: Path, marks: tuple[str, str], lines: list[str]) -> None:
    """Replace what lies between the two ``marks`` lines of ``path`` (a README's generated table)."""
    text = Path(path).read_text()
    if not all(mark in text for mark in marks):
        raise SbnError(f"{path} lacks the marks {marks[0]} ... {marks[1]}")
    head, rest = text.split(marks[0])
    _, tail = rest.split(marks[1])
    block = "\n".join([marks[0], *lines, marks[1]])
    write_atomically(Path(path), lambda tmp: tmp.write_text(head + block + tail))


@contextlib.contextmanager
def folder_lock(out_dir: Path):
    """Hold an exclusive lock on writing ``out_dir``; a second writer fails at once."""
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        handle = open(parent / f".{out_dir.name}.lock", "w")
    except OSError as err:
        raise SbnError(f"cannot write to {parent}: {err.strerror}; choose a writable --out") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SbnError(f"another sbn-mcu command is writing {out_dir}; wait for it or choose another --out") \
                from None
        try:
            yield
        finally:
            Path(handle.name).unlink(missing_ok=True)
