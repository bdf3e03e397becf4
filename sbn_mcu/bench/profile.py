"""Per-layer profiles: a second golden firmware built with the model's layer
hook, checked on the same vectors and timed layer by layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..targets.cores import resolve_core
from ..toolchain.tools import PathLike, ToolError
from ..verify.golden import LAYER_HOOK, build_and_run, check_golden_arrays, harness
from .loops import word_loops


@dataclass
class LayerProfile:
    """Instructions per inference of each layer (the model's steps, in order;
    the cost of the hook call is taken off each) and the loads of each
    kernel's word loop (:func:`~sbn_mcu.bench.loops.word_loops`)."""

    layer_instructions: list[int]
    word_loops: dict[str, dict]


def profile_layers(core, model_sources: Iterable[PathLike], include_dirs: Iterable[PathLike], name: str,
                   inputs: np.ndarray, expected: np.ndarray, build_dir: PathLike, timeout_s: float = 120,
                   defines: Iterable[str] = ()) -> LayerProfile:
    """Time each layer of the model on ``core`` with ``SBN_LAYER_HOOK``.

    The timed work is ten times the golden default, so each layer's ±1 tick
    per reading averages out to a few instructions per inference. The golden
    vectors must pass in this build too.
    """
    core = resolve_core(core)
    inputs, expected = check_golden_arrays(inputs, expected)
    model_sources = [Path(s) for s in model_sources]
    build_dir = Path(build_dir) / "profile"
    sources, includes = harness(name, inputs, expected, model_sources, include_dirs, build_dir)
    defines = list(defines)
    hooked = [*defines, f"SBN_LAYER_HOOK={LAYER_HOOK}"] + \
        ([] if any(d.startswith("SBN_TARGET_TICKS") for d in defines) else ["SBN_TARGET_TICKS=200000u"])
    _, _, _, p, mismatches, log = build_and_run(core, sources, includes, build_dir, hooked, name, inputs,
                                                expected, timeout_s, profiled=True)
    if mismatches:
        raise ToolError(f"golden firmware on {core.name} ({core.machine}) fails {mismatches} vectors "
                        "only when built with the per-layer hook", details=log)
    per_tick = p["calib_instructions"] / p["calib_ticks"]
    hook = p["hook_ticks"] * per_tick / p["hook_calls"]
    return LayerProfile([int(round(t * per_tick / p["repeats"] - hook)) for t in p["layer_ticks"]],
                        word_loops(core, model_sources, includes, build_dir, defines))
