"""Deployment: standalone firmware projects for boards, and flashing them."""

from .flash import board_of, flash
from .project import write_project

__all__ = ["board_of", "flash", "write_project"]
