"""The ``sbn-mcu`` command line: train → export → verify, or all of it with ``demo``.

The group lives in :mod:`.group`; the commands, one module per stage,
register themselves on it when imported here."""

from . import check, deploy, export, report, train  # noqa: F401  (registers the commands)
from .group import main

__all__ = ["main"]
