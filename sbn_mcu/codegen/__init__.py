"""Code generation: the plan, one Jinja environment, the rendered C, the
summary and the export folder. Numpy and jinja2 only."""

from .export_folder import ExportFolder
from .names import check_name
from .plan import Plan, plan
from .render import build_fragments, model_sources

__all__ = ["ExportFolder", "Plan", "build_fragments", "check_name", "model_sources", "plan"]
