"""Progress for a person at a terminal, never in logs or pipes."""

from __future__ import annotations

import contextlib
import sys


def interactive() -> bool:
    """Whether stderr is a terminal, where progress bars belong."""
    return sys.stderr.isatty()


def batches(count: int, label: str, progress: bool, size: int = 500):
    """Start indices of batches of ``count`` inputs, behind a progress bar on
    stderr when ``progress`` (a context manager, like click's bar)."""
    starts = range(0, count, size)
    if not progress:
        return contextlib.nullcontext(starts)
    import click

    return click.progressbar(starts, label=label, file=click.get_text_stream("stderr"))
