"""The planner: which kernel each layer takes (``sbn-mcu export --optimize``).

``size`` keeps every layer's smallest kernel (the plan without choices).
``speed`` gives each layer, in order, the kernel of fewest instructions
that keeps the whole plan within the flash and RAM budgets. Instructions
are estimated from the per-MAC costs below, measured once with
``sbn-mcu bench``; flash and RAM are the plan's own bytes, what the summary
counts (weights, thresholds and tables; activations and scratch), so the
kernels' code and the stack are outside the budgets. The choice is stored
in the frozen model (``meta["kernels"]``), so every later command plans the
same kernels.
"""

from __future__ import annotations

from ..errors import SbnError
from ..ir.model import FrozenModel
from .plan import Plan, plan

OPTIMIZE = ("size", "speed")
ESTIMATE_CORE = "cortex-m4"  # the core whose instructions the summary estimates, unless told another

# Instructions per MAC by kernel and instruction set: the portable C of v6-M (m0), Thumb-2 without
# DSP (m3), Thumb-2 with DSP (m4: M4, M7, M33, M55). Measured with `sbn-mcu bench` on the trained
# mlp and cnn (benchmarks/mcu.json); dense_u8_sums on the 15-epoch mlp's 784 -> 256 layer with
# 28-group chunks, dense_u8_offsets with the whole tables (M4) and 28-group chunks (M0), dense_bits_m16
# on its 256 -> 256 layer. The integer-input kernels: int8 128 -> 64 and 3x3 3 -> 16 channels on 16x16,
# their normalisation included (benchmarks/kernels.json).
PER_MAC = {
    "dense_u8": {"m0": 4.32, "m3": 3.24, "m4": 0.76},
    "dense_u8_sums": {"m0": 0.57, "m3": 0.54, "m4": 0.54},
    "dense_u8_offsets": {"m0": 0.45, "m3": 0.41, "m4": 0.41},
    "dense_q": {"m0": 2.26, "m3": 1.75, "m4": 1.75},
    "dense_bits": {"m0": 0.64, "m3": 0.39, "m4": 0.37},
    "dense_bits_m16": {"m0": 0.43, "m3": 0.39, "m4": 0.29},
    "conv_u8": {"m0": 5.41, "m3": 4.00, "m4": 0.96},
    # the speed convolutions on a 2-epoch cnn, whose pools leave 7,464 of 12,544 binary positions to evaluate
    "conv_u8_3x3": {"m0": 2.42, "m3": 1.91, "m4": 0.77},
    "conv_q": {"m0": 4.29, "m3": 2.79, "m4": 2.85},
    "conv_bits": {"m0": 0.43, "m3": 0.25, "m4": 0.24},
    "conv_bits_lut": {"m0": 0.22, "m3": 0.16, "m4": 0.16},
}
# a kernel's variants for the score layer and for int16 thresholds run its loop: its costs
PER_MAC |= {f"{kernel}_scores": PER_MAC[kernel] for kernel in ("dense_u8", "dense_q", "dense_bits")}
PER_MAC["dense_bits_t16"] = PER_MAC["dense_bits"]
# dense_u8_sums: instructions per extra pass over a block of eight rows (a chunk of tables more)
SUMS_PASS = {"m0": 30, "m3": 24, "m4": 24}
# dense_u8_offsets: instructions per extra pass over a row (a chunk of tables more)
OFFSETS_PASS = {"m0": 14, "m3": 8, "m4": 8}


def isa(core: str) -> str:
    """The instruction-set class of a core, as PER_MAC keys it.

    >>> isa("cortex-m0plus"), isa("cortex-m3"), isa("cortex-m55")
    ('m0', 'm3', 'm4')
    """
    return "m0" if core.startswith("cortex-m0") else "m3" if core == "cortex-m3" else "m4"


def instructions(step, core: str = ESTIMATE_CORE) -> int:
    """The estimated instructions of one step on ``core``."""
    kind = isa(core)
    count = step.macs * PER_MAC[step.kernel][kind]
    if step.kernel == "dense_u8_sums":
        n, outputs, chunk = step.args[2:5]
        groups, blocks = -(-n // 7), -(-outputs // 8)
        count += (-(-groups // chunk) - 1) * blocks * SUMS_PASS[kind]
    if step.kernel == "dense_u8_offsets":
        n, outputs, chunk = step.args[2:5]
        groups = -(-n // 7)
        count += (-(-groups // chunk) - 1) * outputs * OFFSETS_PASS[kind]
    return round(count)


def check_budget(the_plan: Plan, flash_budget: int | None, ram_budget: int | None) -> None:
    """Refuse, with the numbers, a plan over a budget."""
    for what, need, budget in (("flash", the_plan.flash_bytes, flash_budget), ("RAM", the_plan.ram_bytes, ram_budget)):
        if budget is not None and need > budget:
            raise SbnError(f"the model needs {need:,} B of {what} with its smallest kernels, over the budget of "
                           f"{budget:,} B; raise the budget or train a smaller model")


def choose(model: FrozenModel, optimize: str = "size", flash_budget: int | None = None,
           ram_budget: int | None = None, core: str = ESTIMATE_CORE) -> dict[str, str]:
    """The kernel choices (step index to choice) for ``optimize`` within the budgets; {} for size."""
    if optimize not in OPTIMIZE:
        raise SbnError(f"--optimize takes {' or '.join(OPTIMIZE)}, not {optimize!r}")
    base = plan(model, {})
    check_budget(base, flash_budget, ram_budget)
    choices: dict[str, str] = {}
    if optimize == "size":
        return choices
    best = base
    for index, names in base.options.items():
        for name in names:
            trial = plan(model, {**choices, str(index): name})
            fits = ((flash_budget is None or trial.flash_bytes <= flash_budget)
                    and (ram_budget is None or trial.ram_bytes <= ram_budget))
            if fits and instructions(trial.steps[index], core) < instructions(best.steps[index], core):
                choices, best = {**choices, str(index): name}, trial
    return choices
