"""Where the C templates and firmware sources are, installed or in a checkout."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates`` or ``firmware``: inside the wheel, else beside the package."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name
