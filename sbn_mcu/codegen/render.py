"""Render an export's files: ``NAME.h`` / ``NAME.c`` and the build fragments.

The templates print the :class:`~sbn_mcu.codegen.plan.Plan`; the kernels'
text comes from the C runtime, pasted in so that ``NAME.c`` stays one
dependency-free file, or, with the ``shared`` runtime, written once as
``sbn_runtime.c`` / ``sbn_runtime.h`` for every model to link against. The
output is deterministic: no timestamps, no paths.
"""

from __future__ import annotations

from .. import __version__, runtime
from ..errors import SbnError
from ..ir.model import FrozenModel
from .environment import render as render_template
from .names import check_name
from .plan import Plan, plan


def _same(code: str) -> str:
    return code


def model_sources(model: FrozenModel, name: str, single_header: bool = False,
                  the_plan: Plan | None = None, runtime_files: str = "pasted") -> dict[str, str]:
    """``{"NAME.h": ..., "NAME.c": ...}``, or with ``single_header`` one ``NAME.h``
    with the implementation behind ``NAME_IMPLEMENTATION``; with ``runtime_files``
    ``"shared"``, the kernels are ``sbn_runtime.c``'s, written beside them
    (:func:`runtime_sources`). ``the_plan`` saves planning again when the caller has it.

    A model whose dense sums can pass 32 bits calls the runtime's 64-bit copies
    (:func:`~sbn_mcu.runtime.widen`), so that two models in one translation unit
    or one program each keep their own accumulator width."""
    check_name(name)
    if runtime_files not in runtime.MODES:
        raise SbnError(f"unknown runtime {runtime_files!r}; choose one of {', '.join(runtime.MODES)}")
    the_plan = the_plan or plan(model)
    spec = model.spec
    lo, hi = spec.range
    context = {
        "name": name, "NAME": name.upper(), "version": __version__,
        "description": " -> ".join(s.title for s in the_plan.steps),
        "summary_line": (f"Constants: {the_plan.flash_bytes} bytes of flash. "
                         f"Activations: {the_plan.ram_bytes} bytes of RAM."),
        "input_size": spec.size, "input_type": spec.c_type, "input_dtype": spec.dtype, "input_range": f"{lo}..{hi}",
        "input_layout": spec.layout_text(), "input_normalisation": spec.describe(),
        "num_classes": the_plan.num_classes, "score_bound": the_plan.steps[-1].bound,
        "class_names": [model.class_name(i) for i in range(the_plan.num_classes)],
        "input_stage": the_plan.input_stage,
        "ram_bytes": the_plan.ram_bytes, "steps": the_plan.steps, "buffers": the_plan.buffers,
        "scratch_words": the_plan.scratch_words, "scratch_size": the_plan.scratch_size,
        "widen": runtime.widen if the_plan.wide else _same, "wide": the_plan.wide, "single_header": single_header,
        "runtime": None if runtime_files == "shared" else runtime.paste(the_plan.runtime, the_plan.wide),
        "library": runtime.LIBRARY,
    }
    extra = runtime_sources() if runtime_files == "shared" else {}
    if single_header:
        return {f"{name}.h": render_template("templates/single.h.j2", **context), **extra}
    return {f"{name}.h": render_template("templates/model.h.j2", **context),
            f"{name}.c": render_template("templates/model.c.j2", **context), **extra}


def runtime_sources() -> dict[str, str]:
    """``sbn_runtime.h`` and ``sbn_runtime.c``: the whole runtime, public, the same for every model."""
    parts = runtime.library()
    return {f"{runtime.LIBRARY}.{kind}": render_template(f"templates/runtime.{kind}.j2", text=parts[kind],
                                                          library=runtime.LIBRARY, version=__version__)
            for kind in ("h", "c")}


def build_fragments(name: str, single_header: bool = False, runtime_files: str = "pasted") -> dict[str, str]:
    """``NAME.cmake`` and ``NAME.mk``: drop the export folder into a CMake or make project."""
    context = {"name": name, "NAME": name.upper(), "single_header": single_header,
               "library": runtime.LIBRARY if runtime_files == "shared" else None}
    return {f"{name}.cmake": render_template("templates/model.cmake.j2", **context),
            f"{name}.mk": render_template("templates/model.mk.j2", **context)}
